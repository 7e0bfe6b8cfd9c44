package filesync

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/fault"
)

func pod(ns, name, image string, phase corev1.PodPhase, running bool) *corev1.Pod {
	st := corev1.ContainerStatus{Name: "web"}
	if running {
		st.State.Running = &corev1.ContainerStateRunning{}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}, {Name: "sidecar", Image: "envoy"}}},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{st, {Name: "sidecar"}}},
	}
}

// fakeExec records what a sync runs in each container, with the tar
// stream it was given, and fails in the containers of fail.
type fakeExec struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]string // pod -> output of a failed command
}

func (f *fakeExec) exec(_ context.Context, ns, pod, container string, command []string, stdin io.Reader, out io.Writer) error {
	var names []string
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
			names = append(names, h.Name)
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s/%s/%s: %s %v", ns, pod, container, strings.Join(command, " "), names))
	f.mu.Unlock()
	if msg, ok := f.fail[pod]; ok {
		_, _ = io.WriteString(out, msg)
		return errors.New("command terminated with exit code 127")
	}
	return nil
}

func TestClusterSync(t *testing.T) {
	b := build.Result{ImageName: "web", Tag: "registry/web:abc", Digest: "sha256:1234", Pushed: true}
	client := fake.NewClientset(
		pod("dev", "web-1", "registry/web:abc@sha256:1234", corev1.PodRunning, true),
		pod("dev", "web-2", "registry/web:abc@sha256:1234", corev1.PodRunning, true),
		pod("other", "web-3", "registry/web:abc", corev1.PodRunning, true),
		pod("dev", "starting", "registry/web:abc@sha256:1234", corev1.PodRunning, false),
		pod("dev", "old", "registry/web:old@sha256:0000", corev1.PodRunning, true),
		pod("unrelated", "web-4", "registry/web:abc@sha256:1234", corev1.PodRunning, true),
	)
	dir := buildContext(t, map[string]string{"www/index.html": "hi"})
	it := &Item{Copy: map[string][]string{filepath.Join(dir, "www/index.html"): {"/app/www/index.html"}}, Delete: []string{"/app/www/old.css"}}
	ex := &fakeExec{}
	got, err := Cluster{Client: client, Exec: ex.exec}.Sync(t.Context(), []string{"dev", "other"}, "web", b, it)
	if err != nil {
		t.Fatal(err)
	}
	want := []Container{{"dev", "web-1", "web"}, {"dev", "web-2", "web"}, {"other", "web-3", "web"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("containers synced (-want +got):\n%s", diff)
	}
	slices.Sort(ex.calls)
	wantCalls := []string{
		"dev/web-1/web: rm -rf -- /app/www/old.css []",
		"dev/web-1/web: tar -xmf - -C / [app/www/index.html]",
		"dev/web-2/web: rm -rf -- /app/www/old.css []",
		"dev/web-2/web: tar -xmf - -C / [app/www/index.html]",
		"other/web-3/web: rm -rf -- /app/www/old.css []",
		"other/web-3/web: tar -xmf - -C / [app/www/index.html]",
	}
	if diff := cmp.Diff(wantCalls, ex.calls); diff != "" {
		t.Errorf("commands run (-want +got):\n%s", diff)
	}

	// A container without tar fails the sync, and says why.
	ex = &fakeExec{fail: map[string]string{"web-2": `exec: "tar": executable file not found in $PATH`}}
	_, err = Cluster{Client: client, Exec: ex.exec}.Sync(t.Context(), []string{"dev"}, "web", b, it)
	if fault.CodeOf(err) != fault.SyncFailed || !strings.Contains(err.Error(), "copying 1 file into web in dev/web-2 container web: exec: \"tar\": executable file not found") {
		t.Errorf("a failed exec: %v", err)
	}
	if f := fault.As(err); f == nil || !slices.Contains(f.Suggestions, rebuildInstead) {
		t.Errorf("suggestions of %v", err)
	}

	// No running container of the build: nothing to sync into.
	_, err = Cluster{Client: client, Exec: ex.exec}.Sync(t.Context(), []string{"dev"}, "web", build.Result{ImageName: "web", Tag: "registry/web:new"}, it)
	if fault.CodeOf(err) != fault.SyncFailed || !strings.Contains(err.Error(), "no running container of web runs registry/web:new") {
		t.Errorf("no container: %v", err)
	}
}

func TestClusterSyncStopsWithItsContext(t *testing.T) {
	client := fake.NewClientset(pod("dev", "web-1", "web:1", corev1.PodRunning, true))
	dir := buildContext(t, map[string]string{"a.txt": strings.Repeat("a", 1<<20)})
	it := &Item{Copy: map[string][]string{filepath.Join(dir, "a.txt"): {"/a.txt"}}}
	ctx, cancel := context.WithCancel(t.Context())
	// An exec that reads nothing and waits for ctx: the tar writer must not
	// leak blocked on the pipe.
	exec := func(ctx context.Context, _, _, _ string, _ []string, _ io.Reader, _ io.Writer) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		_, err := Cluster{Client: client, Exec: exec}.Sync(ctx, []string{"dev"}, "web", build.Result{Tag: "web:1"}, it)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a canceled sync succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync did not return after its context ended")
	}
}
