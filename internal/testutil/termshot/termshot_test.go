package termshot_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/testutil/termshot"
)

// TestScreen plays output that moves the cursor back over its last lines,
// as a live view does, and reads the screen a person would see.
func TestScreen(t *testing.T) {
	s := termshot.NewScreen(20, 4)
	_, _ = s.Write([]byte("one\ntwo\nlive 1\nlive 2\n"))
	_, _ = s.Write([]byte("\r\x1b[2A\x1b[Jthree\n\x1b[32mlive ✓\x1b[m\n"))
	want := []string{"one", "two", "three", "live ✓"}
	if diff := cmp.Diff(want, s.Lines()); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	// Four lines and the cursor's: one scrolled off.
	if diff := cmp.Diff(want[1:], s.Visible()); diff != "" {
		t.Errorf("visible lines (-want +got):\n%s", diff)
	}
	svg := string(s.SVG("title", 0))
	for _, part := range []string{`>title</text>`, `>one</text>`, `fill="#a6e3a1">✓</text>`, `fill="#a6e3a1">live</text>`} {
		if !strings.Contains(svg, part) {
			t.Errorf("the SVG lacks %q:\n%s", part, svg)
		}
	}
}

// TestRun runs a command under a pseudo-terminal: it sees a terminal.
func TestRun(t *testing.T) {
	rec, err := termshot.Run(exec.Command("sh", "-c", "test -t 1 && echo a terminal || echo no terminal"), 40, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Replay(nil).Lines(); !cmp.Equal(got, []string{"a terminal"}) {
		t.Errorf("the command printed %q", got)
	}
}
