package testutil_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestEventLogSkipsPadding reads an event log as a reader sees it when
// hoist pads the last line after the reader has read its newline: the
// padding on a line of its own, then the next event, then a line hoist is
// still writing. It gets the two whole events.
func TestEventLogSkipsPadding(t *testing.T) {
	b := testutil.NewBus(t)
	var data []byte
	for i := range 2 {
		line, err := event.AppendJSON(nil, b.Publish(testutil.LogEvent("app", "line")))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, line...)
		data = append(data, '\n')
		if i == 0 {
			data = append(data, "          \n"...)
		}
	}
	data = append(data, `{"apiVersion":`...)
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	evs := testutil.EventLog(t, path)
	if len(evs) != 2 || evs[0].Event.Sequence != 1 || evs[1].Event.Sequence != 2 {
		t.Fatalf("got %v, want the events of sequences 1 and 2", evs)
	}
}
