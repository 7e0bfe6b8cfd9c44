package runner_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/runner"
)

// runningPod is a running pod of the default namespace whose container
// web runs image.
func runningPod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
}

// fakeExec records the commands a sync runs in containers, with the
// files of the tar stream it is given, and fails while fail is set.
type fakeExec struct {
	mu    sync.Mutex
	calls []string
	fail  string // the output of a failing command
}

func (f *fakeExec) run(_ context.Context, _, pod, _ string, command []string, stdin io.Reader, out io.Writer) error {
	call := pod + ": " + strings.Join(command, " ")
	if stdin != nil {
		tr := tar.NewReader(stdin)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(tr)
			call += fmt.Sprintf(" %s=%q", h.Name, body)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.fail != "" {
		_, _ = io.WriteString(out, f.fail)
		return errors.New("command terminated with exit code 127")
	}
	return nil
}

func (f *fakeExec) set(fail string) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

func (f *fakeExec) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

func syncEvent(image string, files uint32, status pb.Status) *pb.Event {
	return &pb.Event{Payload: &pb.Event_FileSyncEvent{FileSyncEvent: &pb.FileSyncEvent{Image: image, FileCount: files, Status: status}}}
}

func TestDevLoopSync(t *testing.T) {
	tarMissing := `exec: "tar": executable file not found in $PATH`
	syncFailed := &pb.Event{Payload: &pb.Event_FileSyncEvent{FileSyncEvent: &pb.FileSyncEvent{Image: "web", FileCount: 1, Status: pb.Status_FAILED,
		Error: &pb.Error{Code: "SYNC_FAILED",
			Message: "copying 1 file into web in default/web-1 container web: " + tarMissing + ": command terminated with exit code 127",
			Suggestions: []string{"hoist rebuilds the image instead", "the image needs tar (busybox's will do) to be synced",
				"check that exec into its pods is allowed"}}}}}
	// change is one burst of changes.
	type change struct {
		write, remove []string // files of the project to write or remove
		// before runs first, with the loop and its fake exec; after runs
		// once the loop has taken the changes and waits again.
		before, after func(t *testing.T, r *devRun)
	}
	w := func(files ...string) []string { return files }
	for _, tc := range []struct {
		name      string
		manual    bool // auto-build and auto-deploy off
		noSync    bool // auto-sync off
		changes   []change
		want      []*pb.Event // after the first iteration
		wantCalls []string
	}{
		{
			name:    "a file that a sync rule matches is synced, with no build or deploy",
			changes: []change{{write: w("web/index.html")}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncEvent("web", 1, pb.Status_SUCCEEDED)),
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantCalls: []string{`web-1: tar -xmf - -C / www/index.html="web/index.html"`},
		},
		{
			name:    "a deleted file is deleted in the container",
			changes: []change{{remove: w("web/index.html")}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncEvent("web", 1, pb.Status_SUCCEEDED)),
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantCalls: []string{"web-1: rm -rf -- /www/index.html"},
		},
		{
			name:    "a new file synced, then deleted",
			changes: []change{{write: w("web/new.html")}, {remove: w("web/new.html")}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/new.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncEvent("web", 1, pb.Status_SUCCEEDED)),
				one(iteration(2, pb.Status_SUCCEEDED, "web/new.html")),
				one(iteration(3, pb.Status_IN_PROGRESS, "web/new.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncEvent("web", 1, pb.Status_SUCCEEDED)),
				one(iteration(3, pb.Status_SUCCEEDED, "web/new.html")),
			),
			wantCalls: []string{`web-1: tar -xmf - -C / www/new.html="web/new.html"`, "web-1: rm -rf -- /www/new.html"},
		},
		{
			name:    "one file that no rule matches rebuilds the artifact",
			changes: []change{{write: w("web/index.html", "web/site.css")}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html", "web/site.css")),
				built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html", "web/site.css")),
			),
		},
		{
			name:    "a failed sync says why and rebuilds in the same iteration",
			changes: []change{{write: w("web/index.html"), before: func(_ *testing.T, r *devRun) { r.exec.set(tarMissing) }}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncFailed),
				built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantCalls: []string{`web-1: tar -xmf - -C / www/index.html="web/index.html"`},
		},
		{
			name: "with auto-sync off, a synced file rebuilds",
			changes: []change{{write: w("web/index.html"), before: func(t *testing.T, r *devRun) {
				r.dev.AutoSync(false)
				// It wakes the loop, which waits again.
				r.watcher.wait(t)
			}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
		},
		{
			name:    "with auto-build off, files are still synced",
			manual:  true,
			changes: []change{{write: w("web/index.html")}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncEvent("web", 1, pb.Status_SUCCEEDED)),
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantCalls: []string{`web-1: tar -xmf - -C / www/index.html="web/index.html"`},
		},
		{
			name:    "with auto-build off, a failed sync fails the iteration",
			manual:  true,
			changes: []change{{write: w("web/index.html"), before: func(_ *testing.T, r *devRun) { r.exec.set(tarMissing) }}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncFailed),
				one(iteration(2, pb.Status_FAILED, "web/index.html")),
			),
			wantCalls: []string{`web-1: tar -xmf - -C / www/index.html="web/index.html"`},
		},
		{
			name:   "with auto-sync and auto-build off, a synced file waits for Sync",
			manual: true,
			noSync: true,
			changes: []change{{write: w("web/index.html"), after: func(t *testing.T, r *devRun) {
				if got := r.dev.Sync(); got != 2 {
					t.Errorf("Sync returned iteration %d, want 2", got)
				}
				r.watcher.wait(t)
			}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				one(syncEvent("web", 1, pb.Status_IN_PROGRESS)),
				one(syncEvent("web", 1, pb.Status_SUCCEEDED)),
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantCalls: []string{`web-1: tar -xmf - -C / www/index.html="web/index.html"`},
		},
		{
			name: "a change that did not build yet rebuilds with the next, which alone would sync",
			changes: []change{
				{write: w("web/BROKEN")},
				{write: w("web/index.html")},
			},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/BROKEN")),
				one(buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_IN_PROGRESS})),
				one(buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_FAILED,
					Error: &pb.Error{Code: "BUILD_CUSTOM_COMMAND_FAILED", Message: "the build command failed"}})),
				one(iteration(2, pb.Status_FAILED, "web/BROKEN")),
				one(iteration(3, pb.Status_IN_PROGRESS, "web/index.html")),
				one(buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_IN_PROGRESS})),
				one(buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_FAILED,
					Error: &pb.Error{Code: "BUILD_CUSTOM_COMMAND_FAILED", Message: "the build command failed"}})),
				one(iteration(3, pb.Status_FAILED, "web/index.html")),
			),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := project(t)
			cfg.Build.Artifacts[1].Sync = &config.Sync{Manual: []*config.SyncRule{{Src: "*.html", Dest: "/www"}}}
			opts := runner.DevOptions{AutoBuild: !tc.manual, AutoDeploy: !tc.manual, AutoSync: !tc.noSync}
			r, stop := startDev(t, cfg, opts, func() (*config.Config, error) { return cfg, nil })
			r.watcher.wait(t)
			for _, c := range tc.changes {
				if c.before != nil {
					c.before(t, r)
				}
				var files []string
				for _, f := range c.write {
					write(t, cfg.Dir, f)
					files = append(files, filepath.Join(cfg.Dir, f))
				}
				for _, f := range c.remove {
					remove(t, cfg.Dir, f)
					files = append(files, filepath.Join(cfg.Dir, f))
				}
				send(t, r, files)
				if c.after != nil {
					c.after(t, r)
				}
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v", err)
			}
			if diff := diffEvents(concat(firstIteration, tc.want), sortBuilds(published(t, r.bus))); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCalls, r.exec.took()); diff != "" {
				t.Errorf("commands run in containers (-want +got):\n%s", diff)
			}
		})
	}
}

// send reports changed files to the loop and waits until it waits again.
func send(t *testing.T, r *devRun, files []string) {
	t.Helper()
	select {
	case r.watcher.batches <- batch{files: files}:
	case <-time.After(10 * time.Second):
		t.Fatal("the dev loop did not take the changes")
	}
	r.watcher.wait(t)
}

// sync.auto syncs nothing for the builders hoist has: it says so, and the
// change rebuilds.
func TestDevLoopAutoSyncRebuilds(t *testing.T) {
	cfg := project(t)
	auto := true
	cfg.Build.Artifacts[1].Sync = &config.Sync{Auto: &auto}
	var logs safeBuffer
	opts := runner.DevOptions{AutoBuild: true, AutoDeploy: true, AutoSync: true, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	r, stop := startDev(t, cfg, opts, func() (*config.Config, error) { return cfg, nil })
	r.watcher.wait(t)
	write(t, cfg.Dir, "web/index.html")
	send(t, r, []string{filepath.Join(cfg.Dir, "web/index.html")})
	if err := stop(); err != nil {
		t.Errorf("Run returned %v", err)
	}
	want := concat(firstIteration,
		one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
		built("web", "sha256:web-2"),
		deployed,
		one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")))
	if diff := diffEvents(want, sortBuilds(published(t, r.bus))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), "sync.auto is for Skaffold's jib and buildpacks builders") || !strings.Contains(logs.String(), "image=web") {
		t.Errorf("no warning about sync.auto in the log:\n%s", logs.String())
	}
}

// safeBuffer is a bytes.Buffer for a logger on another goroutine.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
