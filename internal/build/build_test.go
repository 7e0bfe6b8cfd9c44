package build_test

import (
	"testing"

	"github.com/hoist-dev/hoist/internal/build"
)

func TestRepository(t *testing.T) {
	for ref, want := range map[string]string{
		"app":                               "app",
		"app:v1":                            "app",
		"127.0.0.1:5000/app":                "127.0.0.1:5000/app",
		"127.0.0.1:5000/team/app:v1":        "127.0.0.1:5000/team/app",
		"127.0.0.1:5000/app:v1@sha256:abc":  "127.0.0.1:5000/app",
		"127.0.0.1:5000/app@sha256:abc":     "127.0.0.1:5000/app",
		"registry.example.com/a/b/c:latest": "registry.example.com/a/b/c",
	} {
		if got := build.Repository(ref); got != want {
			t.Errorf("Repository(%q) = %q, want %q", ref, got, want)
		}
	}
}
