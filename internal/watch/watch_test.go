package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const quiet = 100 * time.Millisecond

// fakeClock moves only when told to. Each After is announced on waits, so
// that a test can let the quiet period pass when Next waits for it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	waits  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), waits: make(chan time.Duration, 1024)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), c: ch})
	c.waits <- d
	return ch
}

// Advance moves the time on by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.timers = slices.DeleteFunc(c.timers, func(t fakeTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		t.c <- c.now
		return true
	})
}

// fakeNotifier records the folders watched and fails those in fail.
type fakeNotifier struct {
	events chan fsnotify.Event
	errs   chan error
	fail   map[string]error

	mu    sync.Mutex
	added []string
}

func (n *fakeNotifier) Add(path string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.fail[path]; err != nil {
		return err
	}
	n.added = append(n.added, path)
	return nil
}

func (n *fakeNotifier) Close() error {
	close(n.events)
	close(n.errs)
	return nil
}

func (n *fakeNotifier) watched() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Sorted(slices.Values(n.added))
}

type harness struct {
	t     *testing.T
	w     *Watcher
	n     *fakeNotifier
	clock *fakeClock
}

// startFake watches roots with a fake notifier and a fake clock.
func startFake(t *testing.T, fail map[string]error, roots ...string) *harness {
	t.Helper()
	n := &fakeNotifier{events: make(chan fsnotify.Event), errs: make(chan error), fail: fail}
	clock := newFakeClock()
	w, err := start(n, n.events, n.errs, clock, roots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return &harness{t: t, w: w, n: n, clock: clock}
}

// event notifies a change of name. The loop has taken the notification
// when it returns, but not necessarily recorded it.
func (h *harness) event(name string, op fsnotify.Op) {
	h.n.events <- fsnotify.Event{Name: name, Op: op}
}

// sync returns once the loop has handled every notification sent before:
// a chmod is taken only after them and recorded as nothing.
func (h *harness) sync() { h.event("sync", fsnotify.Chmod) }

type result struct {
	files []string
	err   error
}

// next calls Next on its own goroutine.
func (h *harness) next(ctx context.Context, poke <-chan struct{}) <-chan result {
	out := make(chan result, 1)
	go func() {
		files, err := h.w.Next(ctx, quiet, poke)
		out <- result{files, err}
	}()
	return out
}

// waiting returns how long Next waits for quiet, once it waits.
func (h *harness) waiting() time.Duration {
	h.t.Helper()
	select {
	case d := <-h.clock.waits:
		return d
	case <-time.After(10 * time.Second):
		h.t.Fatal("Next did not wait")
		return 0
	}
}

func (h *harness) result(r <-chan result) result {
	h.t.Helper()
	select {
	case got := <-r:
		return got
	case <-time.After(10 * time.Second):
		h.t.Fatal("Next did not return")
		return result{}
	}
}

// settle lets the quiet period pass each time Next waits, until it returns.
func (h *harness) settle(r <-chan result) result {
	h.t.Helper()
	for {
		select {
		case got := <-r:
			return got
		case d := <-h.clock.waits:
			h.clock.Advance(d)
		case <-time.After(10 * time.Second):
			h.t.Fatal("Next did not return")
			return result{}
		}
	}
}

func TestBurstIsReportedOnceAfterQuiet(t *testing.T) {
	h := startFake(t, nil)
	h.event("/p/a", fsnotify.Write)
	h.sync()
	h.clock.Advance(60 * time.Millisecond)
	h.event("/p/b", fsnotify.Create)
	h.sync()
	h.clock.Advance(quiet - time.Millisecond)
	// Quiet counts from the last change of the burst, not the first.
	r := h.next(t.Context(), nil)
	if d := h.waiting(); d != time.Millisecond {
		t.Fatalf("Next waits %v, want the 1ms left of quiet after the last change", d)
	}
	h.clock.Advance(time.Millisecond)
	if diff := cmp.Diff(result{files: []string{"/p/a", "/p/b"}}, h.result(r), cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("first report (-want +got):\n%s", diff)
	}

	// The burst was reported: nothing is left for the next call.
	poke := make(chan struct{}, 1)
	poke <- struct{}{}
	if got := h.result(h.next(t.Context(), poke)); len(got.files) != 0 || got.err != nil {
		t.Errorf("second report = %v, want nothing", got)
	}
}

func TestChmodAloneIsNoChange(t *testing.T) {
	h := startFake(t, nil)
	h.event("/p/a", fsnotify.Chmod)
	h.sync()
	poke := make(chan struct{}, 1)
	poke <- struct{}{}
	if got := h.result(h.next(t.Context(), poke)); len(got.files) != 0 || got.err != nil {
		t.Errorf("Next = %v after a chmod, want nothing", got)
	}
}

func TestPokeReturnsEarly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes []string
		want    []string
	}{
		{name: "with pending changes", changes: []string{"/p/b", "/p/a"}, want: []string{"/p/a", "/p/b"}},
		{name: "with none", want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startFake(t, nil)
			poke := make(chan struct{})
			r := h.next(t.Context(), poke)
			for _, c := range tc.changes {
				h.event(c, fsnotify.Write)
			}
			h.sync()
			select {
			case poke <- struct{}{}:
			case got := <-r:
				t.Fatalf("Next returned %v before the poke", got)
			case <-time.After(10 * time.Second):
				t.Fatal("Next did not take the poke")
			}
			if diff := cmp.Diff(result{files: tc.want}, h.result(r), cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextEndsWithContext(t *testing.T) {
	h := startFake(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	r := h.next(ctx, nil)
	h.event("/p/a", fsnotify.Write)
	h.sync()
	cancel()
	got := h.result(r)
	if !errors.Is(got.err, context.Canceled) || got.files != nil {
		t.Errorf("Next = %v, want context.Canceled and no files", got)
	}
}

func TestErrorsAreReturned(t *testing.T) {
	dir := t.TempDir()
	unwatchable := filepath.Join(dir, "new")
	if err := os.Mkdir(unwatchable, 0o755); err != nil {
		t.Fatal(err)
	}
	vanished := filepath.Join(dir, "vanished")
	if err := os.Mkdir(vanished, 0o755); err != nil {
		t.Fatal(err)
	}
	errNoSpace := errors.New("no space left on device")

	for _, tc := range []struct {
		name string
		// send notifies the watcher while nobody calls Next.
		send func(h *harness)
		// wantErrs are the errors Next returns, call after call, and
		// wantFiles the changes it returns after them.
		wantErrs  []string
		wantFiles []string
	}{
		{
			name:     "the system dropped notifications",
			send:     func(h *harness) { h.n.errs <- fsnotify.ErrEventOverflow },
			wantErrs: []string{"file notifications: fsnotify: queue or buffer overflow"},
		},
		{
			name: "errors before the changes, oldest first",
			send: func(h *harness) {
				h.event("/p/a", fsnotify.Write)
				h.n.errs <- errors.New("first")
				h.n.errs <- errors.New("second")
			},
			wantErrs:  []string{"file notifications: first", "file notifications: second"},
			wantFiles: []string{"/p/a"},
		},
		{
			name:      "a new folder that cannot be watched",
			send:      func(h *harness) { h.event(unwatchable, fsnotify.Create) },
			wantErrs:  []string{"watching " + unwatchable + ": no space left on device"},
			wantFiles: []string{unwatchable},
		},
		{
			name:      "a new folder removed before it could be watched is no error",
			send:      func(h *harness) { h.event(vanished, fsnotify.Create) },
			wantFiles: []string{vanished},
		},
		{
			name: "errors past the limit are counted",
			send: func(h *harness) {
				for i := range maxErrs + 3 {
					h.n.errs <- fmt.Errorf("e%d", i)
				}
			},
			wantErrs: func() []string {
				var out []string
				for i := range maxErrs {
					out = append(out, fmt.Sprintf("file notifications: e%d", i))
				}
				return append(out, "3 more errors while watching files were not kept")
			}(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startFake(t, map[string]error{unwatchable: errNoSpace, vanished: fmt.Errorf("inotify_add_watch: %w", syscall.ENOENT)})
			tc.send(h)
			h.sync()
			// Errors come first, one a call; then the changes, which a
			// poke returns without waiting.
			var gotErrs, gotFiles []string
			for range len(tc.wantErrs) + 1 {
				poke := make(chan struct{}, 1)
				poke <- struct{}{}
				got := h.result(h.next(t.Context(), poke))
				if got.err == nil {
					gotFiles = got.files
					break
				}
				if got.files != nil {
					t.Errorf("Next returned files %v with error %v", got.files, got.err)
				}
				gotErrs = append(gotErrs, got.err.Error())
			}
			if diff := cmp.Diff(tc.wantErrs, gotErrs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFiles, gotFiles, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("files after the errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorWrapsCause(t *testing.T) {
	h := startFake(t, nil)
	h.n.errs <- fsnotify.ErrEventOverflow
	got := h.result(h.next(t.Context(), nil))
	if !errors.Is(got.err, fsnotify.ErrEventOverflow) {
		t.Errorf("Next = %v, want an error that is fsnotify.ErrEventOverflow", got.err)
	}
}

func TestFoldersWatched(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  []string // folders that exist when watching starts
		created []string // folders made later under "new", whose creation is then notified
		want    []string
	}{
		{
			name:   "every folder under the roots but .git",
			before: []string{"a/b", ".git/objects", "c"},
			want:   []string{"", "a", "a/b", "c"},
		},
		{
			name:    "a created folder and its subfolders but .git",
			created: []string{"new/deep", "new/.git/refs"},
			want:    []string{"", "new", "new/deep"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mkdirs := func(dirs []string) {
				for _, d := range dirs {
					if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			mkdirs(tc.before)
			h := startFake(t, nil, root, filepath.Join(root, "a"))
			mkdirs(tc.created)
			if len(tc.created) > 0 {
				h.event(filepath.Join(root, "new"), fsnotify.Create)
			}
			h.sync()
			if diff := cmp.Diff(abs(root, tc.want), h.n.watched()); diff != "" {
				t.Errorf("watched folders (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNotifications runs the real file notifications of the system, with a
// fake clock for the quiet period.
func TestNotifications(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change changes files under root; want are the files reported
		// after it, relative to root.
		change func(t *testing.T, root string)
		want   []string
	}{
		{
			name:   "a file written",
			change: func(t *testing.T, root string) { write(t, root, "a.txt") },
			want:   []string{"a.txt"},
		},
		{
			name:   "changes under .git are left out",
			change: func(t *testing.T, root string) { write(t, root, ".git/HEAD"); write(t, root, "a.txt") },
			want:   []string{"a.txt"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, ".git/config")
			h := startReal(t, root)
			tc.change(t, root)
			got := h.settle(h.next(t.Context(), nil))
			if got.err != nil {
				t.Fatal(got.err)
			}
			if diff := cmp.Diff(abs(root, tc.want), got.files); diff != "" {
				t.Errorf("reported (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotificationsInCreatedFolder(t *testing.T) {
	root := t.TempDir()
	h := startReal(t, root)
	if err := os.Mkdir(filepath.Join(root, "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := h.settle(h.next(t.Context(), nil))
	if diff := cmp.Diff(abs(root, []string{"new"}), got.files); diff != "" || got.err != nil {
		t.Fatalf("after mkdir: %v (-want +got):\n%s", got.err, diff)
	}
	// The folder was being watched before its creation was reported.
	write(t, root, "new/f.txt")
	got = h.settle(h.next(t.Context(), nil))
	if diff := cmp.Diff(abs(root, []string{"new/f.txt"}), got.files); diff != "" || got.err != nil {
		t.Errorf("after writing into the new folder: %v (-want +got):\n%s", got.err, diff)
	}
}

// Files written into a new folder before it was watched have no
// notification: they are reported with the folder.
func TestFilesOfACreatedFolder(t *testing.T) {
	root := t.TempDir()
	h := startFake(t, nil, root)
	write(t, root, "new/deep/a.txt")
	write(t, root, "new/b.txt")
	h.event(filepath.Join(root, "new"), fsnotify.Create)
	got := h.settle(h.next(t.Context(), nil))
	if diff := cmp.Diff(abs(root, []string{"new", "new/b.txt", "new/deep/a.txt"}), got.files); diff != "" || got.err != nil {
		t.Errorf("reported: %v (-want +got):\n%s", got.err, diff)
	}
}

func startReal(t *testing.T, roots ...string) *harness {
	t.Helper()
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	w, err := start(fw, fw.Events, fw.Errors, clock, roots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return &harness{t: t, w: w, clock: clock}
}

func write(t *testing.T, root, rel string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
}

func abs(root string, rels []string) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = filepath.Join(root, r)
	}
	return out
}

func TestDedupe(t *testing.T) {
	for _, tc := range []struct {
		roots, want []string
	}{
		{roots: []string{"/p"}, want: []string{"/p"}},
		{roots: []string{"/p/app", "/p", "/p/app"}, want: []string{"/p"}},
		{roots: []string{"/p/b", "/p/a", "/p/ab"}, want: []string{"/p/a", "/p/ab", "/p/b"}},
		{roots: []string{"/p/a/x", "/p/a"}, want: []string{"/p/a"}},
	} {
		if diff := cmp.Diff(tc.want, dedupe(tc.roots)); diff != "" {
			t.Errorf("dedupe(%v) (-want +got):\n%s", tc.roots, diff)
		}
	}
}
