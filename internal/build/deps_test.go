package build_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
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

func TestCustomDependencies(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile.app": "FROM scratch\n", "main.go": "package main\n", "notes.log": "x\n",
		".dockerignore": "*.log\n", "sub/a.txt": "a\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	custom := func(d *config.CustomDependencies) *config.Artifact {
		return &config.Artifact{ImageName: "app", Context: dir, Custom: &config.CustomArtifact{BuildCommand: "make", Dependencies: d}}
	}
	tests := []struct {
		name string
		deps *config.CustomDependencies
		want []string
	}{
		{"a Dockerfile's context", &config.CustomDependencies{Dockerfile: &config.DockerfileDependency{Path: "Dockerfile.app"}},
			[]string{".dockerignore", "Dockerfile.app", "main.go", "sub/a.txt"}},
		{"what a command prints", &config.CustomDependencies{Command: `echo '["main.go", "./sub/a.txt", "main.go"]'`},
			[]string{"main.go", "sub/a.txt"}},
		{"paths less ignore", &config.CustomDependencies{Paths: []string{"**/*.txt", "*.go"}, Ignore: []string{"sub"}},
			[]string{"main.go"}},
	}
	for _, tt := range tests {
		got, err := build.Dependencies(custom(tt.deps))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := build.Dependencies(custom(&config.CustomDependencies{Command: "echo not json"})); err == nil || !strings.Contains(err.Error(), "not a JSON list") {
		t.Errorf("a command that prints no list: %v", err)
	}
}
