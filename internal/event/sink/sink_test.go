package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/testutil"
)

func build(status pb.Status, log string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: status, Log: log}}}
}

func statusCheck(resource string, status pb.Status) *pb.Event {
	return &pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: &pb.StatusCheckEvent{Resource: resource, Status: status}}}
}

func TestStreamLevels(t *testing.T) {
	tests := []struct {
		level string
		want  []uint32
	}{
		{"debug", []uint32{1, 2, 3, 4, 5}},
		{"info", []uint32{1, 2, 3, 4, 5}},
		{"warn", []uint32{4, 5}},
		{"error", []uint32{5}},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			b := testutil.NewBus(t)
			lvl, err := event.ParseLevel(tt.level)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			s, err := sink.NewStream(&out, sink.JSON, lvl, false)
			if err != nil {
				t.Fatal(err)
			}
			b.Publish(build(pb.Status_IN_PROGRESS, ""))
			b.Publish(build(pb.Status_IN_PROGRESS, "Step 1/2 : FROM x"))
			b.Publish(statusCheck("Deployment/default/app", pb.Status_IN_PROGRESS))
			b.Publish(build(pb.Status_CANCELED, ""))
			b.Publish(build(pb.Status_FAILED, ""))
			b.End()
			if err := sink.Run(t.Context(), b, s); err != nil {
				t.Fatal(err)
			}
			var got []uint32
			for line := range strings.Lines(out.String()) {
				env, err := event.UnmarshalJSON([]byte(line))
				if err != nil {
					t.Fatalf("stdout line %q is not an event: %v", line, err)
				}
				got = append(got, env.Event.Sequence)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sequences on stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileGetsEveryEventAndRepairsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	// A previous run that died mid-line.
	if err := os.WriteFile(path, []byte(`{"apiVersion":"skaffold.dev/v1alpha2","kind":"Event","event":{"sequence":1}}`+"\n"+`{"apiVer`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := sink.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := testutil.NewBus(t)
	b.Publish(statusCheck("Deployment/default/app", pb.Status_IN_PROGRESS))
	b.Publish(build(pb.Status_SUCCEEDED, ""))
	b.End()
	if err := sink.Run(t.Context(), b, f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("file has %d lines, want 3:\n%s", len(lines), data)
	}
	for _, l := range lines {
		if _, err := event.UnmarshalJSON([]byte(l)); err != nil {
			t.Errorf("line %q: %v", l, err)
		}
	}
}

// TestFileSurvivesKill kills a process that writes events as fast as it can
// and checks that the file holds only whole lines.
func TestFileSurvivesKill(t *testing.T) {
	if os.Getenv("HOIST_SINK_WRITER") != "" {
		writeForever(t.Context(), os.Getenv("HOIST_SINK_WRITER"))
		return
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileSurvivesKill$")
		cmd.Env = append(os.Environ(), "HOIST_SINK_WRITER="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := os.Stat(path)
			if err == nil && st.Size() > int64(round+1)*200_000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("writer wrote nothing (killing it: %v)", cmd.Process.Kill())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The writer was killed: Wait reports that, and only that.
		if err := cmd.Wait(); err == nil {
			t.Fatalf("round %d: the killed writer exited cleanly", round)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		if len(data) == 0 || data[len(data)-1] != '\n' {
			t.Fatalf("round %d: file does not end with a newline", round)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			if _, err := event.UnmarshalJSON(sc.Bytes()); err != nil {
				t.Fatalf("round %d line %d: %v: %q", round, n+1, err, sc.Text())
			}
			n++
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d whole lines", round, n)
	}
}

// writeForever runs in the process TestFileSurvivesKill starts, until it
// is killed.
func writeForever(ctx context.Context, path string) {
	f, err := sink.OpenFile(path)
	if err != nil {
		panic(err)
	}
	b, err := event.New()
	if err != nil {
		panic(err)
	}
	go func() {
		for i := 0; ; i++ {
			b.Publish(build(pb.Status_IN_PROGRESS, fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%300))))
		}
	}()
	if err := sink.Run(ctx, b, f); err != nil {
		panic(err)
	}
}

func TestTextFormat(t *testing.T) {
	b := testutil.NewBus(t)
	b.Publish(build(pb.Status_IN_PROGRESS, "Step 1/2 : FROM x"))
	b.End()
	var out bytes.Buffer
	s, _ := sink.NewStream(&out, sink.Text, slog.LevelInfo, false)
	if err := sink.Run(t.Context(), b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "app │ Step 1/2 : FROM x") {
		t.Errorf("text = %q", out.String())
	}
}

// flushCounter is a sink that counts its flushes.
type flushCounter struct{ writes, flushes int }

func (c *flushCounter) Write(*pb.Envelope) error { c.writes++; return nil }
func (c *flushCounter) Flush() error             { c.flushes++; return nil }

// TestSteadyEventsAreFlushedAtAPace publishes events a few microseconds
// apart, each finding the sink caught up: the sink flushes about once each
// event.WriteEvery, not once an event, and flushes the run's last event.
func TestSteadyEventsAreFlushedAtAPace(t *testing.T) {
	const n = 5000
	b := testutil.NewBus(t)
	c := &flushCounter{}
	done := make(chan error, 1)
	run := sink.Start(b, c)
	go func() { done <- run(t.Context()) }()
	start := time.Now()
	for i := range n {
		b.Publish(build(pb.Status_IN_PROGRESS, fmt.Sprintf("line %d", i)))
		for spin := time.Now(); time.Since(spin) < 20*time.Microsecond; {
		}
	}
	testutil.Terminate(b)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// One flush a pace, one for each full buffer, and the last.
	bound := int(elapsed/event.WriteEvery) + n/1024 + 2
	if c.writes != n+1 || c.flushes > bound {
		t.Fatalf("%d events in %s: %d written, %d flushes; want %d written, at most %d flushes", n, elapsed, c.writes, c.flushes, n+1, bound)
	}
	t.Logf("%d events in %s: %d flushes", n, elapsed, c.flushes)
}
