package build_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hoist-dev/hoist/internal/build"
)

func TestDeclaredArgs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte("ARG BASE\nFROM ${BASE} AS build\narg tools=x \\\n  OTHER\nRUN echo ARG NOT_THIS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := build.DeclaredArgs(p)
	if !got["BASE"] || !got["tools"] || !got["OTHER"] || got["NOT_THIS"] || len(got) != 3 {
		t.Errorf("declared = %v", got)
	}
}
