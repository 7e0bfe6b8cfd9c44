package rpc

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// Bounds of what a batch holds for the transport: it waits for more while
// the sender holds it and it is smaller than minBatch (an HTTP/2 frame at
// the default size), and the sender waits while it is maxBatch.
const (
	minBatch = 16 << 10
	maxBatch = 64 << 10
)

// batchingClient is the HTTP client of the pusher. connect-go writes each
// message of a client stream to a pipe in two writes, its five-byte prefix
// and then the message, and Go's HTTP/2 transport sends each read of a
// request body as one DATA frame and flushes it: two frames and two writes
// to the socket an event, and as many frames for the sink to take in one
// at a time. batchingClient hands the transport each streaming request
// body (of unknown length) through a batch instead: the batch of the
// request's context (withBatch), or a new one that nothing holds.
type batchingClient struct {
	hc *http.Client
}

func (c batchingClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength < 0 {
		b, ok := req.Context().Value(batchKey{}).(*batch)
		if !ok {
			b = newBatch()
		}
		b.start(req.Body)
		req = req.WithContext(req.Context())
		req.Body = b
	}
	return c.hc.Do(req)
}

type batchKey struct{}

// withBatch returns ctx carrying b, the body of the stream opened with it.
func withBatch(ctx context.Context, b *batch) context.Context {
	return context.WithValue(ctx, batchKey{}, b)
}

// batch is a streaming request body that reads its source on its own
// goroutine into a buffer: each Read takes everything buffered, so that
// while the transport writes one frame the messages sent meanwhile gather
// into the next. While the sender holds it (more messages are at hand) a
// Read also waits for minBatch bytes; the sender lets go once it has sent
// what it had, so no message waits for one that is not yet there.
type batch struct {
	src io.ReadCloser

	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	held   bool
	err    error // src's, once it has ended: io.EOF after CloseRequest
	closed bool
}

func newBatch() *batch {
	b := &batch{}
	b.cond.L = &b.mu
	return b
}

// start reads src into the batch until src ends or the batch is closed.
func (b *batch) start(src io.ReadCloser) {
	b.mu.Lock()
	b.src = src
	b.mu.Unlock()
	go b.fill()
}

func (b *batch) fill() {
	chunk := make([]byte, 32<<10)
	for {
		n, err := b.src.Read(chunk)
		b.mu.Lock()
		for len(b.buf) > 0 && len(b.buf)+n > maxBatch && !b.closed {
			b.cond.Wait()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		b.buf = append(b.buf, chunk[:n]...)
		if err != nil {
			b.err = err
		}
		b.cond.Broadcast()
		b.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// hold says whether more messages are at hand, so that the transport
// waits for them. The sender holds only while it is sending: it lets go
// when it runs out of messages and when it stops.
func (b *batch) hold(more bool) {
	b.mu.Lock()
	if b.held != more {
		b.held = more
		b.cond.Broadcast()
	}
	b.mu.Unlock()
}

// Read waits until something is buffered (minBatch while held) or src has
// ended, and returns as much of the buffer as p holds.
func (b *batch) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && !b.closed && (len(b.buf) == 0 || b.held && len(b.buf) < minBatch) {
		b.cond.Wait()
	}
	switch {
	case b.closed:
		return 0, io.ErrClosedPipe
	case len(b.buf) == 0:
		return 0, b.err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[:copy(b.buf, b.buf[n:])]
	b.cond.Broadcast()
	return n, nil
}

// Close discards what is buffered and closes src, which ends fill and
// fails the sender's next write.
func (b *batch) Close() error {
	b.mu.Lock()
	b.closed = true
	b.buf = nil
	b.cond.Broadcast()
	src := b.src
	b.mu.Unlock()
	return src.Close()
}
