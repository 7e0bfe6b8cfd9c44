package testutil

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// NewBus returns a bus that spills to the test's temporary folder and is
// closed when the test ends.
func NewBus(t testing.TB, opts ...event.Option) *event.Bus {
	t.Helper()
	b, err := event.New(append([]event.Option{event.WithSpillDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the bus: %v", err)
		}
	})
	return b
}

// LogEvent is a build output line of image, the commonest event of a run.
func LogEvent(image, line string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{
		Image: image, Status: pb.Status_IN_PROGRESS, Log: line}}}
}

// EventLog returns the events of the event log file at path so far: its
// whole lines, read while hoist may still be writing it. A line of spaces
// alone is skipped, as hoist events --file skips it: a read made as hoist
// pads the last line to move the next off a page boundary can see that
// line's padding after its newline.
func EventLog(t testing.TB, path string) []*pb.Envelope {
	t.Helper()
	data, _ := os.ReadFile(path)
	var out []*pb.Envelope
	for line := range strings.Lines(string(data)) {
		if !strings.HasSuffix(line, "\n") {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatalf("event log line %q: %v", line, err)
		}
		out = append(out, env)
	}
	return out
}

// Terminate publishes a successful terminationEvent on b and ends its run.
func Terminate(b *event.Bus) {
	b.Publish(&pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}})
	b.End()
}

// Serve serves srv on a loopback port until the test ends and returns its
// base URL (http://127.0.0.1:port).
func Serve(t testing.TB, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// Backends runs test against each store the collector supports: a SQLite
// file in the test's temporary folder, and a fresh database on the test
// environment's PostgreSQL.
func Backends(t *testing.T, test func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, filepath.Join(t.TempDir(), "c.db")) })
	t.Run("postgres", func(t *testing.T) { test(t, PostgresDB(t)) })
}
