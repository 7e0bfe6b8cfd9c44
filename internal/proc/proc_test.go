package proc

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRunPassesLinesAndKeepsTheLast(t *testing.T) {
	var got []string
	tail, err := Run(exec.CommandContext(t.Context(), "/bin/sh", "-c", `printf 'a\r\nb\n'; echo c >&2; echo d; exit 3`),
		func(l string) { got = append(got, l) }, 2)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("error %v, want exit status 3", err)
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d"}) || !slices.Equal(tail, []string{"c", "d"}) {
		t.Errorf("lines %q, tail %q", got, tail)
	}
}

func TestRunCancelEndsTheGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The child sleep holds the pipe: only ending the whole group ends Run.
	_, err := Run(exec.CommandContext(ctx, "/bin/sh", "-c", "sleep 30 & wait"), func(string) {}, 1)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("error %v after %v", err, time.Since(start))
	}
}

func TestRunStartError(t *testing.T) {
	_, err := Run(exec.CommandContext(t.Context(), "/no/such/program"), func(string) {}, 1)
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("error %v, want a StartError", err)
	}
}

func TestRunKeepsAStdoutOfTheCaller(t *testing.T) {
	var got []string
	var out strings.Builder
	cmd := exec.CommandContext(t.Context(), "/bin/sh", "-c", `tr a-z A-Z; echo note >&2`)
	cmd.Stdin, cmd.Stdout = strings.NewReader("kind: a\n"), &out
	tail, err := Run(cmd, func(l string) { got = append(got, l) }, 2)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "KIND: A\n" || !slices.Equal(got, []string{"note"}) || !slices.Equal(tail, []string{"note"}) {
		t.Errorf("stdout %q, lines %q, tail %q", out.String(), got, tail)
	}
}
