// Package watch reports changed files under a set of folders, with the
// operating system's file notifications (fsnotify), not polling, and
// debounced: a burst of changes is reported once, after it has been quiet
// for a while. Changes that arrive while the caller is busy are kept for
// the next report, and so is anything that went wrong while watching.
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

// maxErrs is how many watch errors are kept between two calls of Next;
// later ones are counted, and reported as one.
const maxErrs = 64

// Clock tells the time and waits. Tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// notifier is what the watcher needs of an fsnotify.Watcher, besides its
// channels.
type notifier interface {
	Add(path string) error
	Close() error
}

// Watcher watches folders recursively.
type Watcher struct {
	fs    notifier
	clock Clock

	mu      sync.Mutex
	pending map[string]struct{}
	last    time.Time // when the last change came
	errs    []error   // what went wrong since Next last returned an error
	dropped int       // errors left out of errs
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
	return start(fw, fw.Events, fw.Errors, systemClock{}, roots)
}

// start watches roots with n, whose notifications come on events and
// errs. It closes n when a root cannot be watched.
func start(n notifier, events <-chan fsnotify.Event, errs <-chan error, c Clock, roots []string) (*Watcher, error) {
	w := &Watcher{fs: n, clock: c, pending: map[string]struct{}{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	for _, r := range dedupe(roots) {
		if err := w.addTree(r, nil); err != nil {
			return nil, errors.Join(err, n.Close())
		}
	}
	go w.loop(events, errs)
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

// addTree watches root and the folders under it, and calls found, when
// set, with each file found there.
func (w *Watcher) addTree(root string, found func(path string)) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			if found != nil {
				found(path)
			}
			return nil
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		// A folder removed before it could be watched has nothing to report.
		if err := w.fs.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("watching %s: %w", path, err)
		}
		return nil
	})
}

// loop records the notifications until the notifier is closed.
func (w *Watcher) loop(events <-chan fsnotify.Event, errs <-chan error) {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			// Files made in a new folder before it was watched are
			// changes too: they have no notification of their own.
			var found []string
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					if err := w.addTree(ev.Name, func(p string) { found = append(found, p) }); err != nil {
						w.failed(err)
					}
				}
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			w.mu.Lock()
			w.pending[ev.Name] = struct{}{}
			for _, p := range found {
				w.pending[p] = struct{}{}
			}
			w.last = w.clock.Now()
			w.mu.Unlock()
			w.signal()
		case err, ok := <-errs:
			if !ok {
				return
			}
			w.failed(fmt.Errorf("file notifications: %w", err))
		}
	}
}

// failed keeps err for Next.
func (w *Watcher) failed(err error) {
	w.mu.Lock()
	if len(w.errs) < maxErrs {
		w.errs = append(w.errs, err)
	} else {
		w.dropped++
	}
	w.mu.Unlock()
	w.signal()
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Next waits for changes and returns them, sorted, once no new change has
// come for quiet. It returns early with what is pending when poke is
// signalled, and with ctx's error when ctx is done.
//
// When watching went wrong since the last call (the system dropped
// notifications, a new folder could not be watched), Next returns at once
// with no files and the first of those errors; each later call returns the
// next one, and the changes stay pending until they have all been returned.
func (w *Watcher) Next(ctx context.Context, quiet time.Duration, poke <-chan struct{}) ([]string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := w.takeErr(); err != nil {
			return nil, err
		}
		w.mu.Lock()
		n, last := len(w.pending), w.last
		w.mu.Unlock()
		var timer <-chan time.Time
		if n > 0 {
			if wait := quiet - w.clock.Now().Sub(last); wait > 0 {
				timer = w.clock.After(wait)
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

// takeErr returns and forgets the oldest error kept, or nil.
func (w *Watcher) takeErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case len(w.errs) > 0:
		err := w.errs[0]
		w.errs[0] = nil
		w.errs = w.errs[1:]
		return err
	case w.dropped > 0:
		n := w.dropped
		w.dropped = 0
		return fmt.Errorf("%d more errors while watching files were not kept", n)
	}
	return nil
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
func (w *Watcher) Add(root string) error { return w.addTree(root, nil) }
