package view_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/view"
)

func TestChooseFormat(t *testing.T) {
	tests := []struct {
		format   string
		terminal bool
		want     string
		err      bool
	}{
		{"", true, "text", false},
		{"", false, "json", false},
		{"auto", true, "text", false},
		{"auto", false, "json", false},
		{"json", true, "json", false},
		{"text", false, "text", false},
		{"yaml", true, "", true},
	}
	for _, tt := range tests {
		got, err := view.ChooseFormat(tt.format, tt.terminal)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ChooseFormat(%q, %v) = %q, %v; want %q, error %v", tt.format, tt.terminal, got, err, tt.want, tt.err)
		}
	}
}

func TestInteractive(t *testing.T) {
	tests := []struct {
		env  []string
		want bool
	}{
		{[]string{"TERM=xterm-256color"}, true},
		{[]string{"TERM=dumb"}, false},
		{nil, false},
		{[]string{"TERM=xterm", "CI=true"}, false},
		{[]string{"TERM=xterm", "CI=1"}, false},
		{[]string{"TERM=xterm", "CI=false"}, true},
		{[]string{"TERM=xterm", "CI=true", "CI="}, true},
		{[]string{"TERM=dumb", "TERM=xterm"}, true},
	}
	for _, tt := range tests {
		if got := view.Interactive(tt.env); got != tt.want {
			t.Errorf("Interactive(%q) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestColor(t *testing.T) {
	tests := []struct {
		flag     string
		terminal bool
		env      []string
		want     bool
		err      bool
	}{
		{"auto", true, []string{"TERM=xterm"}, true, false},
		{"", true, []string{"TERM=xterm"}, true, false},
		{"auto", false, []string{"TERM=xterm"}, false, false},
		{"auto", true, []string{"TERM=xterm", "NO_COLOR=1"}, false, false},
		{"auto", true, []string{"TERM=xterm", "NO_COLOR=yes"}, false, false},
		{"auto", true, []string{"TERM=xterm", "NO_COLOR="}, true, false},
		{"auto", true, []string{"TERM=dumb"}, false, false},
		{"always", false, []string{"NO_COLOR=1"}, true, false},
		{"never", true, []string{"TERM=xterm"}, false, false},
		{"34", true, []string{"TERM=xterm"}, true, false},
		{"34", false, nil, false, false},
		{"rainbow", true, nil, false, true},
	}
	for _, tt := range tests {
		c, err := view.ParseColor(tt.flag)
		if (err != nil) != tt.err {
			t.Errorf("ParseColor(%q): %v, want error %v", tt.flag, err, tt.err)
			continue
		}
		if err == nil && c.Use(tt.terminal, tt.env) != tt.want {
			t.Errorf("--color=%s on a terminal %v with %q: color %v, want %v", tt.flag, tt.terminal, tt.env, !tt.want, tt.want)
		}
	}
}

// TestPlain is the text timeline, filtered by level, then the summary.
func TestPlain(t *testing.T) {
	evs := envelopes([]at{
		{0, meta("build", "app")},
		{0, build("app", pb.Status_IN_PROGRESS)},
		{10, buildLog("app", "compiling")},
		{1000, built("app", "reg/app:v1", digest)},
		{1000, end(pb.Status_SUCCEEDED, nil)},
	})
	for _, lvl := range []slog.Level{slog.LevelInfo, slog.LevelError} {
		var out bytes.Buffer
		p := view.NewPlain(&out, view.Options{Level: lvl})
		var want []string
		for _, e := range evs {
			if err := p.Write(e); err != nil {
				t.Fatal(err)
			}
			if event.LevelOf(e.Event) >= lvl {
				want = append(want, string(event.AppendText(nil, e, false)))
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		// The summary is as the terminationEvent: info.
		if lvl <= slog.LevelInfo {
			want = append(want,
				"── summary ────────────────────────────────────────",
				"  built      app  reg/app:v1@"+digest+"  1.0s",
				"✓ hoist build SUCCEEDED in 1.0s")
		}
		got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if out.Len() == 0 {
			got = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("level %s (-want +got):\n%s", lvl, diff)
		}
	}
}
