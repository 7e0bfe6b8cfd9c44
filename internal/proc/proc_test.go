package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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

// countingReader counts the reads of r.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestLinesWrittenOneByOneAreReadManyARead writes lines to a pipe one
// write each, as a program that flushes every line does: scan reads them
// about once each readEvery, not once a line, and passes every line on in
// order.
func TestLinesWrittenOneByOneAreReadManyARead(t *testing.T) {
	const n = 20000
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	start := time.Now()
	go func() {
		defer pw.Close()
		for i := range n {
			if _, err := fmt.Fprintf(pw, "line %d of the build output\n", i); err != nil {
				return
			}
		}
	}()
	c := &countingReader{r: pr}
	got := 0
	tail := scan(&pacedReader{r: c}, func(l string) {
		if want := fmt.Sprintf("line %d of the build output", got); l != want {
			t.Fatalf("line %d is %q, want %q", got, l, want)
		}
		got++
	}, 1)
	elapsed := time.Since(start)
	// One read a pace, one for each full buffer of the scanner, and the EOF.
	bound := int(elapsed/readEvery) + n*30/(64<<10) + 2
	if got != n || c.reads > bound || !slices.Equal(tail, []string{fmt.Sprintf("line %d of the build output", n-1)}) {
		t.Fatalf("%d lines in %s: %d passed on in %d reads (tail %q); want %d lines in at most %d reads", n, elapsed, got, c.reads, tail, n, bound)
	}
	t.Logf("%d lines in %s: %d reads", n, elapsed, c.reads)
}
