// Package watch reports changed files under a set of folders, with the
// operating system's file notifications (fsnotify), not polling, and
// debounced: a burst of changes is reported once, after it has been quiet
// for a while. Changes that arrive while the caller is busy are kept for
// the next report.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher watches folders recursively.
type Watcher struct {
	fs *fsnotify.Watcher

	mu      sync.Mutex
	pending map[string]struct{}
	last    time.Time
	errs    []error
	wake    chan struct{}
	done    chan struct{}
}

// New watches every folder under roots, and folders created there later.
// Folders named .git are left out.
func New(roots []string) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("starting file notifications: %w", err)
	}
	w := &Watcher{fs: fw, pending: map[string]struct{}{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	for _, r := range dedupe(roots) {
		if err := w.addTree(r); err != nil {
			fw.Close()
			return nil, err
		}
	}
	go w.loop()
	return w, nil
}

// dedupe drops roots that are inside other roots.
func dedupe(roots []string) []string {
	slices.Sort(roots)
	var out []string
	for _, r := range roots {
		if len(out) > 0 {
			if rel, err := filepath.Rel(out[len(out)-1], r); err == nil && filepath.IsLocal(rel) || rel == "." {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func (w *Watcher) addTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		if err := w.fs.Add(path); err != nil {
			return fmt.Errorf("watching %s: %w", path, err)
		}
		return nil
	})
}

func (w *Watcher) loop() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					w.addTree(ev.Name)
				}
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			w.mu.Lock()
			w.pending[ev.Name] = struct{}{}
			w.last = time.Now()
			w.mu.Unlock()
			select {
			case w.wake <- struct{}{}:
			default:
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.mu.Lock()
			w.errs = append(w.errs, err)
			w.mu.Unlock()
		}
	}
}

// Next waits for changes and returns them, sorted, once no new change has
// come for quiet. It returns early with ctx's error, or with what is
// pending when poke is signalled.
func (w *Watcher) Next(ctx context.Context, quiet time.Duration, poke <-chan struct{}) ([]string, error) {
	for {
		w.mu.Lock()
		n, last := len(w.pending), w.last
		w.mu.Unlock()
		var timer <-chan time.Time
		if n > 0 {
			if wait := quiet - time.Since(last); wait > 0 {
				timer = time.After(wait)
			} else {
				return w.take(), nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-w.wake:
		case <-timer:
		case <-poke:
			return w.take(), nil
		}
	}
}

// take returns and clears the pending changes.
func (w *Watcher) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.pending))
	for p := range w.pending {
		out = append(out, p)
	}
	clear(w.pending)
	slices.Sort(out)
	return out
}

// Close stops watching.
func (w *Watcher) Close() error {
	err := w.fs.Close()
	<-w.done
	return err
}

// Add watches another folder tree.
func (w *Watcher) Add(root string) error { return w.addTree(root) }
