package cache_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/cache"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

func TestPutThenOpen(t *testing.T) {
	// The cache's folder does not exist yet: Put makes it.
	path := filepath.Join(t.TempDir(), "hoist", "artifacts.json")
	c, err := cache.Open(path)
	if err != nil {
		t.Fatalf("opening a cache that does not exist: %v", err)
	}
	if _, ok := c.Get("k1"); ok {
		t.Error("a new cache has an entry")
	}
	r1 := build.Result{ImageName: "app", Tag: "reg/app:v1", Digest: "sha256:1", Pushed: true}
	r2 := build.Result{ImageName: "web", Tag: "web:v1", Digest: "sha256:2"}
	for k, r := range map[string]build.Result{"k1": r1, "k2": r2} {
		if err := c.Put(k, r); err != nil {
			t.Fatal(err)
		}
	}
	again, err := cache.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]build.Result{"k1": r1, "k2": r2} {
		got, ok := again.Get(k)
		if !ok {
			t.Errorf("%s is not in the cache read back", k)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s read back (-want +got):\n%s", k, diff)
		}
	}
	if left := temporaryFiles(t, filepath.Dir(path)); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestOpenDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "artifacts.json")
	// Valid JSON that is not a cache: k1 alone would decode.
	if err := os.WriteFile(path, []byte(`{"k1": {"imageName": "app"}, "k2": 5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := cache.Open(path)
	if err == nil {
		t.Fatal("a damaged cache opened without an error")
	}
	if c == nil {
		t.Fatal("no cache to start afresh with")
	}
	if _, ok := c.Get("k1"); ok {
		t.Error("an entry of the damaged file is in the cache")
	}
	// The next Put replaces the damaged file.
	if err := c.Put("k2", build.Result{ImageName: "app"}); err != nil {
		t.Fatal(err)
	}
	again, err := cache.Open(path)
	if err != nil {
		t.Fatalf("the cache was not replaced: %v", err)
	}
	if _, ok := again.Get("k2"); !ok {
		t.Error("the entry put after the damage is not in the file")
	}
}

func TestPutFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		// path returns where the cache lives, made unwritable.
		path func(t *testing.T, dir string) string
	}{
		{
			name: "its folder is a file",
			path: func(t *testing.T, dir string) string {
				write(t, dir, "file", "")
				return filepath.Join(dir, "file", "artifacts.json")
			},
		},
		{
			name: "the cache file is a folder",
			path: func(t *testing.T, dir string) string {
				write(t, dir, "artifacts.json/keep", "")
				return filepath.Join(dir, "artifacts.json")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := cache.Open(tc.path(t, dir))
			if err != nil && c == nil {
				t.Fatal(err)
			}
			if err := c.Put("k", build.Result{ImageName: "app"}); err == nil {
				t.Fatal("Put succeeded")
			}
			if left := temporaryFiles(t, dir); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/main.go", "package main\n")
	write(t, dir, "app/Dockerfile", "FROM scratch\n")
	docker := &config.Artifact{ImageName: "app", Context: filepath.Join(dir, "app"), Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"}}
	custom := &config.Artifact{ImageName: "app", Context: filepath.Join(dir, "app"), Custom: &config.CustomArtifact{BuildCommand: "make"}}
	v1, v2 := "1", "2"
	key := func(t *testing.T, a *config.Artifact, args map[string]*string, push bool) string {
		t.Helper()
		k, err := cache.Key(a, args, push)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(t, docker, map[string]*string{"V": &v1}, false)
	if again := key(t, docker, map[string]*string{"V": &v1}, false); again != base {
		t.Errorf("the same inputs give keys %s and %s", base, again)
	}
	for _, tc := range []struct {
		name string
		key  func(t *testing.T) string
	}{
		{name: "pushed", key: func(t *testing.T) string { return key(t, docker, map[string]*string{"V": &v1}, true) }},
		{name: "another build argument", key: func(t *testing.T) string { return key(t, docker, map[string]*string{"V": &v2}, false) }},
		{name: "another image name", key: func(t *testing.T) string {
			a := *docker
			a.ImageName = "other"
			return key(t, &a, map[string]*string{"V": &v1}, false)
		}},
		{name: "a custom build of the same files", key: func(t *testing.T) string { return key(t, custom, nil, false) }},
		{name: "a required image built anew", key: func(t *testing.T) string {
			a := *docker
			a.DependencyRefs = map[string]string{"BASE": "reg/base:v1@sha256:" + strings.Repeat("1", 64)}
			return key(t, &a, map[string]*string{"V": &v1}, false)
		}},
		{name: "a changed input", key: func(t *testing.T) string {
			write(t, dir, "app/main.go", "package changed\n")
			defer write(t, dir, "app/main.go", "package main\n")
			return key(t, docker, map[string]*string{"V": &v1}, false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.key(t); got == base {
				t.Errorf("the key did not change: %s", got)
			}
		})
	}

	t.Run("a context that does not exist", func(t *testing.T) {
		a := *custom
		a.Context = filepath.Join(dir, "missing")
		_, err := cache.Key(&a, nil, false)
		if got := fault.CodeOf(err); got != fault.BuildContextMissing {
			t.Errorf("Key returned %v (code %s), want %s", err, got, fault.BuildContextMissing)
		}
	})
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// temporaryFiles lists the files a failed or finished Put may have left.
func temporaryFiles(t *testing.T, dir string) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, ".artifacts-*"))
	if err != nil {
		t.Fatal(err)
	}
	return left
}
