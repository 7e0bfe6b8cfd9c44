package cli_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/jsonl"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// TestSubscribersGetTheWholeRun runs a build of a million output lines with
// default flags and three subscribers attached from the start: hoist events
// over gRPC, a Connect client and curl-like JSON lines. Each ends with
// exactly the events of the run's event log file, the last one's through
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

	// gRPC: hoist events, from the start.
	grpcOut := filepath.Join(dir, "grpc.jsonl")
	grpcDone := make(chan error, 1)
	var grpcCmd *exec.Cmd
	waitFor(t, func() bool {
		grpcCmd = exec.Command(hoistBinary(t), "events", "--address", addr, "--after", "0", "--follow", "--output", "json")
		f, err := os.Create(grpcOut)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		var stderr strings.Builder
		grpcCmd.Stdout, grpcCmd.Stderr = f, &stderr
		if err := grpcCmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Give it a moment to fail to connect while hoist starts.
		done := make(chan error, 1)
		go func() { done <- grpcCmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("hoist events did not connect yet (%v): %s", err, stderr.String())
			return false
		case <-time.After(500 * time.Millisecond):
			go func() { grpcDone <- <-done }()
			return true
		}
	})

	// Connect: the generated client with Connect's own protocol, resuming
	// after the sequence its stream names when it falls behind, as every
	// client of the Event API should.
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	events := hoistv1alpha2connect.NewEventServiceClient(hc, "http://"+addr)
	connectSeqs := make(chan []uint32, 1)
	connectErr := make(chan error, 1)
	go func() {
		seqs := make([]uint32, 0, lines+8)
		for after := uint32(0); ; {
			stream, err := events.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{AfterSequence: after}))
			if err != nil {
				connectSeqs <- seqs
				connectErr <- err
				return
			}
			for stream.Receive() {
				seqs = append(seqs, stream.Msg().Event.Sequence)
			}
			if sc, ok := rpc.SlowConsumerOf(stream.Err()); ok {
				t.Logf("the Connect subscriber fell behind after sequence %d and resumes", sc.LastSequence)
				after = sc.LastSequence
				continue
			}
			connectSeqs <- seqs
			connectErr <- stream.Err()
			return
		}
	}()

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
	// The file pads a line with spaces rather than let it cross a page.
	want := strings.Split(strings.TrimSuffix(readFile(logFile), "\n"), "\n")
	for i := range want {
		want[i] = strings.TrimRight(want[i], " ")
	}
	if len(want) < lines {
		t.Fatalf("the event log file has %d events, want more than %d", len(want), lines)
	}
	equalLines := func(name string, got []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s got %d events, the event log file has %d", name, len(got), len(want))
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

	if err := <-grpcDone; err != nil {
		t.Errorf("hoist events over gRPC: %v", err)
	}
	equalLines("hoist events (gRPC)", strings.Split(strings.TrimSuffix(readFile(grpcOut), "\n"), "\n"))

	seqs := <-connectSeqs
	if err := <-connectErr; err != nil {
		t.Errorf("the Connect subscriber ended with %v", err)
	}
	if len(seqs) != len(want) {
		t.Errorf("the Connect subscriber got %d events, the event log file has %d", len(seqs), len(want))
	}
	for i, seq := range seqs {
		if seq != uint32(i+1) {
			t.Fatalf("Connect: event %d has sequence %d", i+1, seq)
		}
	}
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
