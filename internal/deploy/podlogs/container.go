package podlogs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// state is what the follower knows of one container of one pod, from the
// pod's status.
type state struct {
	// current is the id of the container's current run, once it has
	// started: running, or ended and not restarted yet. It is empty while
	// the container waits to start, or to restart.
	current string
	running bool
	// previous is the id of the run before, when there was one.
	previous string
	// restarts is set when the current run has ended and the kubelet
	// starts the container again (its restart policy says so).
	restarts bool
	// final is set when no run of the container will start again: the pod
	// has ended, or is gone.
	final bool
	// gone is set when the pod was deleted: its logs cannot be read.
	gone bool
}

// run is one run of a container, as far as it has been read.
type run struct {
	id     string
	cursor cursor
	// done: everything the run printed has been read, or cannot be.
	done bool
	// broke is when its stream last broke, while it is broken.
	broke time.Time
}

// containerLog follows one container of one pod across its runs: it
// follows the current run's log until the run ends, and the next run's
// from its start. A stream that breaks is opened again from the last line
// read; when the run ended meanwhile, what it printed after that line is
// read once, from the previous run's log once the container has
// restarted (where the kubelet keeps it), or from the current one's once
// the pod has ended.
type containerLog struct {
	namespace, pod, container string

	src  Source
	emit func(Line)
	log  *slog.Logger
	// watch returns the container's state and a channel closed at its
	// next change.
	watch func() (state, <-chan struct{})
	// settle is how long a stream that ended cleanly waits for the pod's
	// status to say that the run ended, before it is opened again.
	settle  time.Duration
	backoff backoff
}

// follow follows the container until its pod is gone or has ended, or
// until ctx is done.
func (c *containerLog) follow(ctx context.Context) {
	var r *run
	for ctx.Err() == nil {
		st, changed := c.watch()
		switch {
		case st.current != "" && (r == nil || r.id != st.current):
			c.replaced(ctx, r, st)
			r = &run{id: st.current}
		case r == nil && st.previous != "":
			// The container waits to restart: its last run ended before
			// the pod was seen.
			r = &run{id: st.previous}
			c.read(ctx, r, true)
		}
		switch {
		case r == nil || r.done || st.gone:
		case st.current == r.id && st.running:
			c.follows(ctx, r)
			continue
		case st.current == "" && st.previous == r.id:
			// The run whose stream broke has ended, and the container
			// waits to restart.
			c.read(ctx, r, true)
		case st.current == r.id && (st.final || !st.restarts):
			// It ended, and no run comes after it: its log is the
			// current one's until the pod is deleted. (One that
			// restarts is read from the previous log once the next run
			// has started, not to read that run's instead.)
			c.read(ctx, r, false)
		}
		if st.final {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// follows follows run r, which runs, until its stream ends.
func (c *containerLog) follows(ctx context.Context, r *run) {
	err := c.stream(ctx, r, corev1.PodLogOptions{Follow: true})
	switch {
	case ctx.Err() != nil:
	case err != nil:
		c.broken(r, err)
		sleep(ctx, c.backoff.next())
	default:
		// The kubelet ends a follow when the run has ended, after its
		// last line; the stream may also have been closed under a run
		// that goes on, which the pod's status tells apart.
		if _, ended := c.ended(ctx, r.id); ended {
			r.done = true
		}
	}
}

// replaced finishes r, the run followed until st's current run started,
// reading the end of its log from the previous run's log. When the
// container is first seen after a restart, it reads the previous run
// whole.
func (c *containerLog) replaced(ctx context.Context, r *run, st state) {
	switch {
	case r == nil:
		if st.previous != "" {
			c.read(ctx, &run{id: st.previous}, true)
		}
	case r.done:
	case st.previous == r.id:
		c.read(ctx, r, true)
	default:
		c.log.Warn("lost the last lines of a container's earlier run: it restarted more than once while its log could not be read",
			"pod", c.namespace+"/"+c.pod, "container", c.container, "after", r.cursor.last)
		r.done = true
	}
}

// ended waits, at most settle, for the pod's status to show that run id
// no longer runs, and returns the status last seen and whether it does.
func (c *containerLog) ended(ctx context.Context, id string) (state, bool) {
	timer := time.NewTimer(c.settle)
	defer timer.Stop()
	for {
		st, changed := c.watch()
		if st.gone || st.current != id || !st.running {
			return st, true
		}
		select {
		case <-ctx.Done():
			return st, false
		case <-timer.C:
			return st, false
		case <-changed:
		}
	}
}

// read reads r's log once, without following it, after the last line
// read: the current run's, or the previous run's.
func (c *containerLog) read(ctx context.Context, r *run, previous bool) {
	err := c.stream(ctx, r, corev1.PodLogOptions{Previous: previous})
	r.done = true
	switch {
	case err == nil || ctx.Err() != nil:
	case apierrors.IsNotFound(err):
		// The pod was deleted meanwhile, with its logs.
		c.log.Debug("reading the end of a container's log", "pod", c.namespace+"/"+c.pod, "container", c.container, "err", err)
	default:
		c.log.Warn("reading the end of a container's log", "pod", c.namespace+"/"+c.pod, "container", c.container, "err", err)
	}
}

// broken reports a stream of r that broke; the next one resumes after the
// last line read.
func (c *containerLog) broken(r *run, err error) {
	if !r.broke.IsZero() {
		c.log.Debug("the log stream of a container is still broken", "pod", c.namespace+"/"+c.pod, "container", c.container, "err", err)
		return
	}
	r.broke = time.Now()
	c.log.Warn("the log stream of a container broke; reconnecting to read on from its last line",
		"pod", c.namespace+"/"+c.pod, "container", c.container, "last", r.cursor.last, "err", err)
}

// stream opens a stream of r's log with o, from r's last line read, and
// emits each line the cursor lets through until the stream ends: nil at
// its end, the error when it broke.
func (c *containerLog) stream(ctx context.Context, r *run, o corev1.PodLogOptions) error {
	o.Container = c.container
	o.Timestamps = true
	o.SinceTime = r.cursor.since()
	rc, err := c.src.Logs(ctx, c.namespace, c.pod, &o)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }() // read only
	if !r.broke.IsZero() {
		c.log.Warn("the log stream of a container is reconnected: no line is lost",
			"pod", c.namespace+"/"+c.pod, "container", c.container, "gap", time.Since(r.broke).Round(time.Millisecond))
		r.broke = time.Time{}
	}
	r.cursor.resume()
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) > 0 {
			// A last line without its newline is whole only at the end.
			err = nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			// A line cut by the break is read again, whole, from the
			// next stream.
			return err
		}
		ts, msg, ok := split(line)
		if r.cursor.admit(ts, ok) {
			c.backoff.reset()
			c.emit(Line{Namespace: c.namespace, Pod: c.pod, Container: c.container, Message: msg})
		}
	}
}

// split cuts a line of a log read with timestamps into its time and its
// text, without the newline. ok is false when the line has no timestamp.
func split(line []byte) (time.Time, string, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	stamp, msg, found := bytes.Cut(line, []byte(" "))
	if found {
		if ts, err := time.Parse(time.RFC3339Nano, string(stamp)); err == nil {
			return ts, string(msg), true
		}
	}
	return time.Time{}, string(line), false
}

// cursor is how far a run's log has been read: the latest timestamp of
// the lines read, and how many of them carry it. A stream opened again
// from that time (which the API rounds down to the second) repeats lines;
// the cursor lets through only those after the last one read.
type cursor struct {
	last time.Time
	n    int
	// replaying is set while a stream opened again has not passed the
	// last line read; seen counts its lines stamped last.
	replaying bool
	seen      int
}

// since is where a new stream starts: nil, the beginning, when no line
// has been read.
func (c *cursor) since() *metav1.Time {
	if c.n == 0 {
		return nil
	}
	t := metav1.NewTime(c.last)
	return &t
}

// resume starts a new stream.
func (c *cursor) resume() {
	c.replaying, c.seen = c.n > 0, 0
}

// admit reports whether a line stamped ts, the next of the stream, was
// not read before, and counts it read. A line without a timestamp (ok
// false) cannot be placed, and is let through.
func (c *cursor) admit(ts time.Time, ok bool) bool {
	if !ok {
		return true
	}
	if c.replaying {
		switch {
		case ts.Before(c.last):
			return false
		case ts.Equal(c.last):
			c.seen++
			if c.seen <= c.n {
				return false
			}
		}
		c.replaying = false
	}
	switch {
	case ts.After(c.last):
		c.last, c.n = ts, 1
	case ts.Equal(c.last):
		c.n++
	}
	// An earlier line (stdout and stderr are stamped apart, and may
	// interleave out of order) moves nothing.
	return true
}

// backoff spaces out attempts to open a broken stream.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	b.cur = min(max(2*b.cur, b.min), b.max)
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d, or until ctx is done, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
