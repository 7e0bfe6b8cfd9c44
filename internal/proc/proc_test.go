package proc

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
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

func TestScanSplitsReadsIntoLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10)
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"lines", "a\r\n\nb\n", []string{"a", "", "b"}},
		{"last line without newline", "a\nb", []string{"a", "b"}},
		{"empty", "", nil},
		{"a line over MaxLine in pieces", "a\n" + long + "\nb\n", []string{"a", long[:MaxLine], long[MaxLine:], "b"}},
	} {
		for _, r := range []struct {
			name string
			r    io.Reader
		}{{"whole", strings.NewReader(tc.in)}, {"a byte a read", iotest.OneByteReader(strings.NewReader(tc.in))}} {
			t.Run(tc.name+"/"+r.name, func(t *testing.T) {
				var got []string
				tail := scan(r.r, func(ls []string) { got = append(got, ls...) }, 2, readSize)
				if !slices.Equal(got, tc.want) {
					t.Errorf("lines %.40q, want %.40q", got, tc.want)
				}
				if want := tc.want[max(0, len(tc.want)-2):]; !slices.Equal(tail, want) {
					t.Errorf("tail %.40q, want %.40q", tail, want)
				}
			})
		}
	}
}

func TestRunLinesPassesAReadAtOnce(t *testing.T) {
	var calls, lines int
	_, err := RunLines(exec.CommandContext(t.Context(), "/bin/sh", "-c", `seq 1 10000`),
		func(ls []string) { calls++; lines += len(ls) }, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// seq writes 4 KiB and more at a time: far fewer reads than lines.
	if lines != 10000 || calls > 1000 {
		t.Errorf("%d lines in %d calls, want 10000 in at most 1000", lines, calls)
	}
}

// A program may print as much as its pipe holds while its lines are not
// taken: with a pipe of 1 MiB, 600 KiB of lines and then the marker file,
// which the system's pipe of 64 KiB does not let it reach.
func TestRunLinesPipeHoldsTheBacklog(t *testing.T) {
	for _, tc := range []struct {
		pipe    int
		reaches bool
	}{{1 << 20, true}, {0, false}} {
		marker := filepath.Join(t.TempDir(), "printed")
		script := `yes | head -c 614400; touch ` + marker
		first, reached := true, false
		_, err := RunLines(exec.CommandContext(t.Context(), "/bin/sh", "-c", script), func([]string) {
			if !first {
				return
			}
			first = false
			// Hold the first lines until the program has printed all.
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := os.Stat(marker); err == nil {
					reached = true
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}, 1, tc.pipe)
		if err != nil {
			t.Fatal(err)
		}
		if reached != tc.reaches {
			t.Errorf("pipe of %d bytes: the program printed everything before its first lines were taken: %v, want %v (an unprivileged user may ask for fs.pipe-max-size at most)", tc.pipe, reached, tc.reaches)
		}
	}
}
