package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestBatchGathersWhatIsHeld sends messages as the pusher does, holding
// the batch while more are at hand, and checks that the transport reads
// them, unchanged and in order, in a few reads rather than two a message.
func TestBatchGathersWhatIsHeld(t *testing.T) {
	const messages, runs = 2000, 10
	pr, pw := io.Pipe()
	b := newBatch()
	b.start(pr)
	var want bytes.Buffer
	sent := make(chan error, 1)
	go func() {
		for i := range messages {
			msg := fmt.Appendf(nil, "message %d of a run of build output", i)
			want.Write([]byte{0, 0, 0, 0, byte(len(msg))})
			want.Write(msg)
			b.hold(true)
			// Two writes, as connect-go sends a message: prefix, then body.
			if _, err := pw.Write([]byte{0, 0, 0, 0, byte(len(msg))}); err != nil {
				sent <- err
				return
			}
			if _, err := pw.Write(msg); err != nil {
				sent <- err
				return
			}
			// The sender runs out of messages runs times.
			b.hold((i+1)%(messages/runs) != 0)
		}
		sent <- pw.Close()
	}()
	var got bytes.Buffer
	reads := 0
	p := make([]byte, 1<<20)
	for {
		n, err := b.Read(p)
		if n > 0 {
			reads++
			got.Write(p[:n])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("read %d bytes, not the %d sent", got.Len(), want.Len())
	}
	// Each time the sender lets go, the transport may read what was
	// buffered in a read or two, and otherwise a frame's worth at once.
	if limit := 3*runs + want.Len()/minBatch + 2; reads > limit {
		t.Errorf("%d reads for %d messages, want at most %d", reads, messages, limit)
	}
	t.Logf("%d reads for %d messages (%d bytes)", reads, messages, want.Len())
}

// TestBatchClose checks that closing the batch, as the transport does when
// the stream ends, releases a sender waiting for room and a reader waiting
// for more to gather alike.
func TestBatchClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		// wait starts what waits on b (writing to w) and reports its end.
		wait func(b *batch, w io.Writer) <-chan error
	}{
		{"sender waiting for room", func(_ *batch, w io.Writer) <-chan error {
			done := make(chan error, 1)
			// More than the batch takes while nobody reads it.
			go func() { _, err := w.Write(make([]byte, 4*maxBatch)); done <- err }()
			return done
		}},
		{"reader waiting for more", func(b *batch, w io.Writer) <-chan error {
			done := make(chan error, 1)
			go func() {
				if _, err := w.Write([]byte("less than a batch")); err != nil {
					done <- err
					return
				}
				_, err := b.Read(make([]byte, 64))
				done <- err
			}()
			return done
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			b := newBatch()
			b.start(pr)
			b.hold(true)
			done := tc.wait(b, pw)
			// Let it start waiting; it must end the same if Close is first.
			time.Sleep(10 * time.Millisecond)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, io.ErrClosedPipe) {
					t.Errorf("ended with %v, want %v", err, io.ErrClosedPipe)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still waits after Close")
			}
		})
	}
}
