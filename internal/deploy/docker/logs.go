package docker

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/hoist-dev/hoist/internal/hooks"
)

// Logs writes what the deployed containers print, stdout and stderr, to
// Out, each line prefixed with the container's name in brackets
// ([web] listening on :8080), from when a deploy starts a container until
// the container stops, is removed, or Close is called. The Event API has
// no payload for a Docker container's output, so it is not an event. A
// container is followed once, however many deployers of a run follow it.
type Logs struct {
	out io.Writer

	mu        sync.Mutex // guards what follows, and each line written to out
	following map[string]context.CancelFunc
	closed    bool
	wg        sync.WaitGroup
}

// NewLogs returns Logs that write to out.
func NewLogs(out io.Writer) *Logs {
	return &Logs{out: out, following: map[string]context.CancelFunc{}}
}

// follow starts following the container id, named name, unless it is
// already followed or l is closed. It stops when the container's output
// ends, when ctx is done or when l is closed.
func (l *Logs) follow(ctx context.Context, c *client.Client, id, name string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.following[id]; ok || l.closed {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	l.following[id] = cancel
	l.wg.Go(func() {
		defer func() {
			cancel()
			l.mu.Lock()
			delete(l.following, id)
			l.mu.Unlock()
		}()
		rc, err := c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			return // the container is gone, or the run is over
		}
		defer func() { _ = rc.Close() }() // read only
		line := func(s string) { l.line(name, s) }
		stdout, stderr := &hooks.Lines{Line: line}, &hooks.Lines{Line: line}
		// The stream ends with the container, or with ctx: either way there
		// is nothing more to print.
		_, _ = stdcopy.StdCopy(stdout, stderr, rc)
		stdout.Flush()
		stderr.Flush()
	})
}

func (l *Logs) line(name, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	// A line that cannot be written loses no event.
	_, _ = fmt.Fprintf(l.out, "[%s] %s\n", name, strings.TrimSuffix(s, "\r"))
}

// Close stops following every container and returns when nothing more
// will be written.
func (l *Logs) Close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.closed = true
	for _, cancel := range l.following {
		cancel()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// lastLines returns the last n lines the container id printed, stdout
// and stderr in the order they came, or none when they cannot be read.
func lastLines(ctx context.Context, c *client.Client, id string, n int) []string {
	rc, err := c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return nil
	}
	defer func() { _ = rc.Close() }() // read only
	var lines []string
	w := &hooks.Lines{Line: func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}}
	_, _ = stdcopy.StdCopy(w, w, rc) // what was read before an error is still worth showing
	w.Flush()
	return lines[max(0, len(lines)-n):]
}
