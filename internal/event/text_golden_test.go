package event_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/event"
)

// TestTextGolden pins the text timeline of every golden event, in plain
// text and in color: testdata/text holds one file per golden event, the
// plain line first, then the colored one. -update rewrites them.
func TestTextGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden events: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env, err := event.UnmarshalJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			got := string(event.AppendText(nil, env, false)) + "\n" + string(event.AppendText(nil, env, true)) + "\n"
			path := filepath.Join("testdata", "text", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("text of %s changed (-golden +now):\n%s", name, diff)
			}
		})
	}
}
