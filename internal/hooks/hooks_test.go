package hooks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// runner is a Runner of phase "post-render" whose output lines are kept.
func runner(t *testing.T) (Runner, *[]string) {
	var lines []string
	return Runner{Phase: "post-render", Dir: t.TempDir(), Env: Env{"NAMESPACES": "ns1"}, Code: fault.DeployHookFailed,
		Line: func(l string) { lines = append(lines, l) }}, &lines
}

func TestHookStdinAndStdout(t *testing.T) {
	r, lines := runner(t)
	h := config.HostHook{Command: []string{"sh", "-c", `echo "reading in $SKAFFOLD_NAMESPACES" >&2; sed s/a/b/`}}
	var out strings.Builder
	ran, err := r.Hook(t.Context(), 1, h, IO{In: strings.NewReader("kind: a\n"), Out: &out})
	if !ran || err != nil {
		t.Fatalf("ran %v, error %v", ran, err)
	}
	if out.String() != "kind: b\n" {
		t.Errorf("standard output %q, want the input changed", out.String())
	}
	// Standard error goes line by line, not into the output.
	if diff := cmp.Diff([]string{"reading in ns1"}, *lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}

	// Without Out, the standard output is shown too.
	*lines = nil
	if _, err := r.Hook(t.Context(), 1, h, IO{In: strings.NewReader("kind: a\n")}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"reading in ns1", "kind: b"}, *lines); diff != "" {
		t.Errorf("lines without Out (-want +got):\n%s", diff)
	}
}

func TestHookOfAnotherOSDoesNotRun(t *testing.T) {
	r, _ := runner(t)
	marker := filepath.Join(r.Dir, "ran")
	h := config.HostHook{Command: []string{"touch", marker}, OS: []string{"plan9"}}
	ran, err := r.Hook(t.Context(), 1, h, IO{})
	if ran || err != nil {
		t.Errorf("ran %v, error %v", ran, err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the hook ran: %v", err)
	}
	h.OS = []string{runtime.GOOS}
	if ran, err := r.Hook(t.Context(), 1, h, IO{}); !ran || err != nil {
		t.Errorf("on %s: ran %v, error %v", runtime.GOOS, ran, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the hook of this OS did not run: %v", err)
	}
}

func TestHookRunsInItsDir(t *testing.T) {
	r, lines := runner(t)
	if err := os.Mkdir(filepath.Join(r.Dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{"", r.Dir}, {"sub", filepath.Join(r.Dir, "sub")}, {filepath.Join(r.Dir, "sub"), filepath.Join(r.Dir, "sub")},
	} {
		*lines = nil
		if _, err := r.Hook(t.Context(), 1, config.HostHook{Command: []string{"pwd"}, Dir: tc.dir}, IO{}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{tc.want}, *lines); diff != "" {
			t.Errorf("dir %q (-want +got):\n%s", tc.dir, diff)
		}
	}
}

func TestHookFailure(t *testing.T) {
	r, _ := runner(t)
	h := config.HostHook{Command: []string{"sh", "-c", "cat >/dev/null; echo first; echo no schema >&2; exit 3"}}
	var out strings.Builder
	ran, err := r.Hook(t.Context(), 2, h, IO{In: strings.NewReader("kind: a\n"), Out: &out})
	if !ran || fault.CodeOf(err) != fault.DeployHookFailed {
		t.Fatalf("ran %v, error %v: want %s", ran, err, fault.DeployHookFailed)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("error %v does not hold exit status 3", err)
	}
	for _, want := range []string{"post-render hook 2 (sh -c cat", "exit status 3", "last output: no schema"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	// A command that cannot start, and one that is not there at all.
	_, err = r.Hook(t.Context(), 1, config.HostHook{Command: []string{"/no/such/hook"}}, IO{})
	if fault.CodeOf(err) != fault.DeployHookFailed || !strings.Contains(err.Error(), "post-render hook 1 (/no/such/hook) failed") {
		t.Errorf("a missing program: %v", err)
	}
	if _, err = r.Hook(t.Context(), 1, config.HostHook{}, IO{}); fault.CodeOf(err) != fault.DeployHookFailed {
		t.Errorf("no command: %v", err)
	}
}

func TestRunStopsAtTheFirstFailure(t *testing.T) {
	r, lines := runner(t)
	hs := []config.HostHook{
		{Command: []string{"echo", "one"}},
		{Command: []string{"false"}},
		{Command: []string{"echo", "three"}},
	}
	err := Run(t.Context(), "pre-render", hs, r.Dir, nil, fault.DeployHookFailed, r.Line)
	if fault.CodeOf(err) != fault.DeployHookFailed || !strings.Contains(err.Error(), "pre-render hook 2 (false) failed") {
		t.Errorf("error %v", err)
	}
	if diff := cmp.Diff([]string{"one"}, *lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestHookCanceled(t *testing.T) {
	r, _ := runner(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Hook(ctx, 1, config.HostHook{Command: []string{"sleep", "5"}}, IO{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
