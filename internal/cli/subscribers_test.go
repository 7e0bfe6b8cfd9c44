package cli_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/jsonl"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// TestSubscribersGetTheWholeRun runs a build of a million output lines with
// default flags and four subscribers attached from the start: a gRPC
// client and a Connect client (each the generated client, in a process of
// its own), hoist events and a curl-like reader of JSON lines. Each ends
// with exactly the events of the run's event log file, resuming when the
// server ends its stream for falling behind, and the last ones through
// hoist's drain at the end of the run.
func TestSubscribersGetTheWholeRun(t *testing.T) {
	lines := 1_000_000
	if testing.Short() {
		lines = 100_000
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app", "README"), []byte("the build prints lines and fails\n"))
	// The build waits for the subscribers to attach, prints its lines and
	// fails: no image is needed to make events.
	writeFile(t, filepath.Join(dir, "skaffold.yaml"), fmt.Appendf(nil, `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {sha256: {}}
  artifacts:
  - image: app
    context: app
    custom:
      buildCommand: "sleep 3; seq -f 'line %%.0f of the build output' 1 %d; exit 3"
`, lines))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logFile := filepath.Join(dir, "events.jsonl")
	wait := hoistProc(t, nil, "build", "-f", filepath.Join(dir, "skaffold.yaml"), "--rpc-port", strconv.Itoa(port),
		"--event-log-file", logFile, "--event-format", "text", "--event-level", "error")

	// hoist events, from the start: JSON lines, as it reads them to print
	// JSON.
	eventsOut := filepath.Join(dir, "hoist-events.jsonl")
	var eventsDone <-chan error
	waitFor(t, func() bool {
		var stderr strings.Builder
		done := startTo(t, eventsOut, &stderr, hoistBinary(t), "events", "--address", addr, "--after", "0", "--follow", "--output", "json")
		// Give it a moment to fail to connect while hoist starts.
		select {
		case err := <-done:
			t.Logf("hoist events did not connect yet (%v): %s", err, stderr.String())
			return false
		case <-time.After(500 * time.Millisecond):
			eventsDone = done
			return true
		}
	})

	// gRPC and Connect's own protocol: the generated client, resuming
	// after the sequence its stream names when it falls behind, as every
	// client of the Event API should. In processes of their own, as the
	// clients of a run are: under the race detector, one in this process
	// reads too slowly to be done within the drain's bound.
	type client struct {
		name, out string
		stderr    strings.Builder
		done      <-chan error
	}
	clients := []*client{{name: "grpc"}, {name: "connect"}}
	for _, c := range clients {
		c.out = filepath.Join(dir, c.name+".jsonl")
		c.done = startTo(t, c.out, &c.stderr, subscriberBinary(t), "-address", addr, "-protocol", c.name)
	}

	// JSON lines over plain HTTP, resuming after the Hoist-Last-Sequence
	// trailer when the stream ends early.
	var httpLines []string
	for after := "0"; after != ""; {
		resp, err := http.Get("http://" + addr + rpc.EventsPath + "?follow=true&after=" + after)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			httpLines = append(httpLines, sc.Text())
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("reading JSON lines: %v", err)
		}
		_ = resp.Body.Close() // read to its end, which fills the trailer
		if after = resp.Trailer.Get(jsonl.LastSequenceHeader); after != "" {
			t.Logf("the JSON lines subscriber fell behind after sequence %s and resumes", after)
		}
	}

	code, out := wait()
	if code != 3 {
		t.Fatalf("hoist build exited %d, want 3 (the build's failure)\n%s", code, out)
	}
	fileLines := func(path string) []string {
		return strings.Split(strings.TrimSuffix(readFile(path), "\n"), "\n")
	}
	// The file pads a line with spaces rather than let it cross a page.
	want := fileLines(logFile)
	for i := range want {
		want[i] = strings.TrimRight(want[i], " ")
	}
	if len(want) < lines {
		t.Fatalf("the event log file has %d events, want more than %d", len(want), lines)
	}
	equalLines := func(name string, got []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s got %d events, the event log file has %d\nhoist: %s", name, len(got), len(want), out)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: event %d differs from the file's:\n got %s\nwant %s", name, i+1, got[i], want[i])
				return
			}
		}
	}
	equalLines("JSON lines", httpLines)
	if err := <-eventsDone; err != nil {
		t.Errorf("hoist events: %v", err)
	}
	equalLines("hoist events", fileLines(eventsOut))
	for _, c := range clients {
		if err := <-c.done; err != nil {
			t.Errorf("the %s subscriber: %v\n%s", c.name, err, c.stderr.String())
		}
		if s := strings.TrimSpace(c.stderr.String()); s != "" {
			t.Logf("the %s subscriber: %s", c.name, strings.ReplaceAll(s, "\n", "; "))
		}
		equalLines("the "+c.name+" subscriber", fileLines(c.out))
	}
}

// startTo starts a command with its stdout in the file at path and its
// stderr in stderr, and returns a channel that yields its end.
func startTo(t *testing.T, path string, stderr io.Writer, name string, args ...string) <-chan error {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // the child has its own descriptor
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() { ch <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return ch
}

// waitFor retries try until it reports success, for at most 30 seconds.
func waitFor(t *testing.T, try func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !try(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
	}
}
