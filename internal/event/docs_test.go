package event_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestDocsNameEveryPayloadAndStatus checks the documents users read against
// the proto descriptor: a payload or status added to the .proto must be
// described in docs/events.md and allowed by docs/event.schema.json.
func TestDocsNameEveryPayloadAndStatus(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(testutil.Root(t), "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	doc, schema := read("events.md"), read("event.schema.json")
	for _, name := range append(append([]string{}, event.PayloadTypes...), event.Statuses...) {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/events.md does not describe %s", name)
		}
		if !strings.Contains(schema, `"`+name+`"`) {
			t.Errorf("docs/event.schema.json does not name %s", name)
		}
	}
}
