// Package cache remembers built artifacts by the digest of their inputs, so
// that an artifact whose inputs have not changed, and whose image still
// exists, is not built again (Skaffold's --cache-artifacts).
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
)

// Cache is a file of build results keyed by input digest.
type Cache struct {
	path    string
	mu      sync.Mutex
	entries map[string]build.Result
}

// DefaultPath is where the cache lives unless --cache-file says otherwise.
func DefaultPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "hoist", "artifacts.json")
}

// Open reads the cache at path. A missing file is an empty cache; a
// damaged one is reported and replaced on the next Put.
func Open(path string) (*Cache, error) {
	c := &Cache{path: path, entries: map[string]build.Result{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading artifact cache: %w", err)
	}
	if err := json.Unmarshal(data, &c.entries); err != nil {
		c.entries = map[string]build.Result{}
		return c, fmt.Errorf("artifact cache %s is damaged, starting afresh: %w", path, err)
	}
	return c, nil
}

// Key is the cache key of an artifact: the digest of its inputs, its build
// arguments after templating, the images it requires (their references by
// alias), and whether it is pushed.
func Key(a *config.Artifact, args map[string]*string, push bool) (string, error) {
	d, err := build.InputDigest(a, args)
	if err != nil {
		return "", err
	}
	key := fmt.Appendf(nil, "%s\x00%s\x00push=%v", a.ImageName, d, push)
	for _, alias := range slices.Sorted(maps.Keys(a.DependencyRefs)) {
		key = fmt.Appendf(key, "\x00requires %s=%s", alias, a.DependencyRefs[alias])
	}
	h := sha256.Sum256(key)
	return hex.EncodeToString(h[:]), nil
}

// Get returns the result stored under key.
func (c *Cache) Get(key string) (build.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.entries[key]
	return r, ok
}

// Put stores a result and writes the cache file.
func (c *Cache) Put(key string, r build.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = r
	data, err := json.MarshalIndent(c.entries, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("writing artifact cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".artifacts-*.json")
	if err != nil {
		return fmt.Errorf("writing artifact cache: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		// A temporary file left behind would sit in the cache folder for
		// good; say so with the error that stopped the write.
		if rerr := os.Remove(tmp.Name()); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("writing artifact cache: %w", err)
	}
	return nil
}
