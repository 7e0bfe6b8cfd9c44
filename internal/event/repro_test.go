package event_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// TestEventJSONIsTheSameInEveryBuild builds hoist twice, with different
// versions linked in so that the two binaries differ, and has each print a
// recorded event log with `hoist events --file --output json`, which reads
// every event and writes it again. Both must write the recording back byte
// for byte: protojson, which hoist used to write events with, adds a space
// after commas in some builds and not in others.
func TestEventJSONIsTheSameInEveryBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: builds hoist twice")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, which builds hoist: %v", err)
	}
	dir := t.TempDir()
	recorded := filepath.Join(dir, "recorded.jsonl")
	want := recording(t)
	if err := os.WriteFile(recorded, want, 0o644); err != nil {
		t.Fatal(err)
	}
	var binaries [][]byte
	for _, version := range []string{"a", "b"} {
		bin := filepath.Join(dir, "hoist-"+version)
		build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin,
			"-ldflags", "-X github.com/hoist-dev/hoist/internal/version.version="+version, "./cmd/hoist")
		build.Dir = filepath.Join("..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building hoist %s: %v\n%s", version, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		binaries = append(binaries, data)

		var stdout, stderr bytes.Buffer
		run := exec.CommandContext(t.Context(), bin, "events", "--file", recorded, "--output", "json")
		run.Stdout, run.Stderr = &stdout, &stderr
		if err := run.Run(); err != nil {
			t.Fatalf("hoist %s events: %v\n%s", version, err, stderr.String())
		}
		if got := stdout.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("hoist %s wrote the recorded events differently:\n%s", version, lineDiff(want, got))
		}
	}
	if bytes.Equal(binaries[0], binaries[1]) {
		t.Error("the two builds are the same binary, so the test compares nothing")
	}
}

// recording is an event log of every payload (the golden files) and of
// timestamps with each number of fractional digits, in the form hoist
// writes.
func recording(t *testing.T) []byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	var log []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, data...)
	}
	for i, nanos := range []int{0, 120_000_000, 123_456_000, 123_456_789, 999_999_999} {
		env := &pb.Envelope{ApiVersion: event.APIVersion, Kind: event.Kind, EventId: "0192f6a4-7c1e-7d2a-9b3c-4d5e6f708192",
			Event: &pb.Event{Sequence: uint32(i + 2), Timestamp: timestamppb.New(time.Date(2023, 10, 27, 10, 0, i, nanos, time.UTC)),
				Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Log: "applying"}}}}
		if log, err = event.AppendJSON(log, env); err != nil {
			t.Fatal(err)
		}
		log = append(log, '\n')
	}
	return log
}

// lineDiff shows the first line where got differs from want.
func lineDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + wl + "\ngot  " + gl
		}
	}
	return "(same lines)"
}
