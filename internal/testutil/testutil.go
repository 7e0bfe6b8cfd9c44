// Package testutil holds what hoist's tests share: checks of the test
// environment's parts (Docker, Kubernetes, Postgres, Chromium), helpers
// for buses, servers and stores, and the event schema check.
package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Root returns the repository root: the nearest folder above the test's
// working folder that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// ValidateEvent checks one event's JSON against docs/event.schema.json.
func ValidateEvent(t testing.TB, line []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schema, schemaErr = c.Compile(filepath.Join(Root(t), "docs", "event.schema.json"))
	})
	if schemaErr != nil {
		t.Fatalf("compiling the event schema: %v", schemaErr)
	}
	var v any
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("event is not JSON: %v: %s", err, line)
	}
	if err := schema.Validate(v); err != nil {
		t.Errorf("event does not match docs/event.schema.json: %v\n%s", err, line)
	}
}

// Tool returns the path of a developer tool: from PATH, or else from the
// tools cache that hack/tools.sh builds (and builds now if needed).
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, err := exec.Command("bash", filepath.Join(Root(t), "hack", "tools.sh")).Output()
	if err != nil {
		t.Fatalf("building the developer tools with hack/tools.sh: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not in the tools cache: %v", name, err)
	}
	return p
}

var (
	renderOnce sync.Once
	renderErr  error
)

// Render builds hoist-render once per test binary and points hoist at it
// through $HOIST_RENDER, for the tests that render kustomize or Helm.
func Render(t testing.TB) {
	t.Helper()
	renderOnce.Do(func() {
		if p := os.Getenv("HOIST_RENDER"); p != "" {
			return
		}
		dir, err := os.MkdirTemp("", "hoist-render-")
		if err != nil {
			renderErr = err
			return
		}
		path := filepath.Join(dir, "hoist-render")
		cmd := exec.Command("go", "build", "-o", path, "github.com/hoist-dev/hoist/cmd/hoist-render")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			renderErr = fmt.Errorf("building hoist-render: %v\n%s", err, out)
			return
		}
		renderErr = os.Setenv("HOIST_RENDER", path)
	})
	if renderErr != nil {
		t.Fatal(renderErr)
	}
}
