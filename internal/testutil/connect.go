package testutil

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// ConnectStream is what a Connect server-streaming call wrote, read frame
// by frame, and how often the handler flushed its response.
type ConnectStream struct {
	// Messages counts the message frames, Compressed those of them that
	// were compressed.
	Messages, Compressed int
	// End tells whether the end-of-stream frame came.
	End     bool
	Flushes int
}

// CallConnectStream calls the server-streaming procedure (such as
// "/hoist.v1alpha2.EventService/Events") of h with one JSON request
// message, over the Connect protocol, with headers added to the request,
// and reads the response to its end.
func CallConnectStream(t testing.TB, h http.Handler, procedure string, msg []byte, headers http.Header) ConnectStream {
	t.Helper()
	body := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, procedure, bytes.NewReader(append(body, msg...)))
	req.Header.Set("Content-Type", "application/connect+json")
	for k, vs := range headers {
		req.Header[k] = vs
	}
	w := &flushCounter{header: http.Header{}}
	h.ServeHTTP(w, req)
	var out ConnectStream
	out.Flushes = w.flushes
	for r := bytes.NewReader(w.body.Bytes()); r.Len() > 0; {
		var prefix [5]byte
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Seek(int64(binary.BigEndian.Uint32(prefix[1:])), io.SeekCurrent); err != nil {
			t.Fatal(err)
		}
		switch {
		case prefix[0]&2 != 0:
			out.End = true
		case prefix[0]&1 != 0:
			out.Compressed++
			out.Messages++
		default:
			out.Messages++
		}
	}
	return out
}

// flushCounter is a ResponseWriter that counts the flushes that reach it.
type flushCounter struct {
	header  http.Header
	body    bytes.Buffer
	flushes int
}

func (w *flushCounter) Header() http.Header         { return w.header }
func (w *flushCounter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *flushCounter) WriteHeader(int)             {}
func (w *flushCounter) Flush()                      { w.flushes++ }
