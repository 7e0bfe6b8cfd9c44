package custom_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/custom"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/proc"
)

// fakeDigester answers with fixed digests and records what it was asked.
type fakeDigester struct {
	err   error
	asked []string // "local ref" or "remote ref"
}

func (d *fakeDigester) Remote(_ context.Context, ref string) (string, error) {
	d.asked = append(d.asked, "remote "+ref)
	return "sha256:remote", d.err
}

func (d *fakeDigester) Local(_ context.Context, ref string) (string, error) {
	d.asked = append(d.asked, "local "+ref)
	return "sha256:local", d.err
}

// lines records a build's output; started is closed at the first line.
type lines struct {
	mu      sync.Mutex
	got     []string
	started chan struct{}
}

func newLines() *lines { return &lines{started: make(chan struct{})} }

func (l *lines) Line(line string, _ *build.Step) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.got) == 0 {
		close(l.started)
	}
	l.got = append(l.got, line)
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.got
}

const ref = "reg.local/app:v1"

// codeOf is err's code, or "" for no error.
func codeOf(err error) fault.Code {
	if err == nil {
		return ""
	}
	return fault.CodeOf(err)
}

func artifact(t *testing.T, command string) *config.Artifact {
	t.Helper()
	return &config.Artifact{ImageName: "app", Context: t.TempDir(), Custom: &config.CustomArtifact{BuildCommand: command}}
}

func TestBuild(t *testing.T) {
	var tail []string
	for i := 3; i <= 12; i++ {
		tail = append(tail, "line "+strconv.Itoa(i))
	}
	errLookup := errors.New("no such image")
	for _, tc := range []struct {
		name      string
		command   string
		push      bool
		digester  *fakeDigester
		wantLines func(a *config.Artifact) []string
		want      build.Result
		// wantCode and wantMsg are the error's; its suggestion names the
		// context, checked apart.
		wantCode  fault.Code
		wantMsg   string
		wantAsked []string
	}{
		{
			name:     "the command builds $IMAGE in its context, its output reported line by line",
			command:  `echo "IMAGE=$IMAGE PUSH_IMAGE=$PUSH_IMAGE PLATFORMS=$PLATFORMS"; echo "BUILD_CONTEXT=$BUILD_CONTEXT"; pwd; printf 'to stderr\r\n' >&2; printf 'no newline'`,
			digester: &fakeDigester{},
			wantLines: func(a *config.Artifact) []string {
				return []string{"IMAGE=" + ref + " PUSH_IMAGE=false PLATFORMS=linux/amd64,linux/arm64",
					"BUILD_CONTEXT=" + a.Context, a.Context, "to stderr", "no newline"}
			},
			want:      build.Result{ImageName: "app", Tag: ref, Digest: "sha256:local"},
			wantAsked: []string{"local " + ref},
		},
		{
			name:      "pushed: the registry's digest",
			command:   `echo "PUSH_IMAGE=$PUSH_IMAGE"`,
			push:      true,
			digester:  &fakeDigester{},
			wantLines: func(*config.Artifact) []string { return []string{"PUSH_IMAGE=true"} },
			want:      build.Result{ImageName: "app", Tag: ref, Digest: "sha256:remote", Pushed: true},
			wantAsked: []string{"remote " + ref},
		},
		{
			name:      "a failing command: its exit status and last lines",
			command:   `for i in $(seq 1 12); do echo "line $i"; done; exit 3`,
			digester:  &fakeDigester{},
			wantLines: func(*config.Artifact) []string { return append([]string{"line 1", "line 2"}, tail...) },
			wantCode:  fault.BuildCustomCommandFail,
			wantMsg:   `build command "for i in $(seq 1 12); do echo \"line $i\"; done; exit 3" of "app" exited with status 3; last output:` + "\n" + strings.Join(tail, "\n"),
		},
		{
			name:      "a failing command without output",
			command:   `exit 1`,
			digester:  &fakeDigester{},
			wantLines: func(*config.Artifact) []string { return nil },
			wantCode:  fault.BuildCustomCommandFail,
			wantMsg:   `build command "exit 1" of "app" exited with status 1`,
		},
		{
			name:      "the image's digest cannot be found",
			command:   `true`,
			digester:  &fakeDigester{err: errLookup},
			wantLines: func(*config.Artifact) []string { return nil },
			wantCode:  fault.Unknown,
			wantMsg:   "no such image",
			wantAsked: []string{"local " + ref},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := artifact(t, tc.command)
			b := &custom.Builder{Push: tc.push, Platforms: []string{"linux/amd64", "linux/arm64"}, Digester: tc.digester}
			out := newLines()
			got, err := b.Build(t.Context(), out, a, ref)
			if code := codeOf(err); code != tc.wantCode || err != nil && err.Error() != tc.wantMsg {
				t.Errorf("Build returned %v (code %q), want %q (code %q)", err, code, tc.wantMsg, tc.wantCode)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLines(a), out.all()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAsked, tc.digester.asked); diff != "" {
				t.Errorf("digests asked for (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildFailureSuggestsTheCommandByHand(t *testing.T) {
	a := artifact(t, "exit 1")
	_, err := (&custom.Builder{Digester: &fakeDigester{}}).Build(t.Context(), newLines(), a, ref)
	want := []string{"run the command by hand in " + a.Context + " with IMAGE=" + ref + " to see the failure"}
	if f := fault.As(err); f == nil || !cmp.Equal(want, f.Suggestions) {
		t.Errorf("Build returned %#v, want the suggestions %q", err, want)
	}
}

func TestBuildContextMissing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(dir, "ran")
	for name, context := range map[string]string{"missing": filepath.Join(dir, "missing"), "a file": file} {
		t.Run(name, func(t *testing.T) {
			a := &config.Artifact{ImageName: "app", Context: context, Custom: &config.CustomArtifact{BuildCommand: "touch " + ran}}
			_, err := (&custom.Builder{Digester: &fakeDigester{}}).Build(t.Context(), newLines(), a, ref)
			if got := codeOf(err); got != fault.BuildContextMissing {
				t.Errorf("Build returned %v (code %q), want %s", err, got, fault.BuildContextMissing)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Error("the command ran")
			}
		})
	}
}

// TestBuildCanceled cancels a build whose command has started a child:
// Build returns the cancellation promptly and the child is gone too.
func TestBuildCanceled(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	a := artifact(t, fmt.Sprintf(`sleep 60 & echo $! > %s; echo started; wait`, pidFile))
	out := newLines()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-out.started:
			cancel()
		case <-time.After(10 * time.Second):
		}
	}()
	start := time.Now()
	_, err := (&custom.Builder{Digester: &fakeDigester{}}).Build(ctx, out, a, ref)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Build returned %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("Build took %v to stop, more than its WaitDelay allows", took)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The child was signalled with its group; wait for it to end.
	deadline := time.Now().Add(5 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %d still runs after the build was canceled", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running tells whether process pid runs: it exists and is not a zombie
// waiting for whoever inherited it to reap it.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: the signal check is all there is
	}
	// "pid (comm) state ...": the state follows the last parenthesis.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return strings.TrimSpace(rest)[0] != 'Z'
}

// TestBuildLongLine gives a line longer than proc.MaxLine: it is reported
// in pieces of that length, and the output after it too, instead of being
// lost or the command blocking on a full pipe.
func TestBuildLongLine(t *testing.T) {
	a := artifact(t, `echo before; head -c 2000000 /dev/zero | tr '\0' a; echo; echo after`)
	out := newLines()
	got, err := (&custom.Builder{Digester: &fakeDigester{}}).Build(t.Context(), out, a, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != "sha256:local" {
		t.Errorf("result %v", got)
	}
	want := []string{"before", strings.Repeat("a", proc.MaxLine), strings.Repeat("a", 2000000-proc.MaxLine), "after"}
	if diff := cmp.Diff(want, out.all()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
