package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// page is the unit at which Linux may cut a write short when the writer is
// killed: it checks for a fatal signal before copying each page.
const page = 4096

// spaces pads a line to the end of its page (see layout).
var spaces = [page]byte(bytes.Repeat([]byte{' '}, page))

// File appends every event to an event log file as a JSON line, written as
// it happens, so that a hoist killed with SIGKILL leaves only whole,
// parseable lines behind.
//
// The kernel can cut a write short only at a page boundary, so File lays
// lines out such that none crosses one: a line that would is moved to the
// next page by padding the line before it with spaces (JSON allows trailing
// whitespace). Only a single line longer than a page can still be torn; a
// torn last line is cut off when the file is opened again. Concurrent hoist
// processes may share one file: each write happens under an flock.
type File struct {
	f *os.File
	// lines are the buffered lines, without their newlines: the JSON
	// forms the bus shares, or lines encoded or copied into buf.
	lines [][]byte
	buf   []byte
	out   []byte
}

var _ EncodedSink = (*File)(nil)

// OpenFile opens (creating) the event log at path for appending.
func OpenFile(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating folder of event log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening event log file: %w", err)
	}
	fl := &File{f: f}
	if err := fl.locked(func(size int64) error { return cutTornLine(f, size) }); err != nil {
		return nil, errors.Join(fmt.Errorf("repairing event log file %s: %w", path, err), f.Close())
	}
	return fl, nil
}

// Write implements Sink. The file gets every event, whatever its level.
func (f *File) Write(env *pb.Envelope) error {
	start := len(f.buf)
	var err error
	if f.buf, err = event.AppendJSON(f.buf, env); err != nil {
		f.buf = f.buf[:start]
		return fmt.Errorf("encoding event %d: %w", env.Event.Sequence, err)
	}
	f.lines = append(f.lines, f.buf[start:])
	return nil
}

// WriteEncoded implements EncodedSink: it writes the JSON line the bus
// shares with its other readers, which it holds until it writes it,
// instead of copying.
func (f *File) WriteEncoded(e *event.Encoded) error {
	line, err := e.JSON()
	if err != nil {
		return fmt.Errorf("encoding event %d: %w", e.Seq(), err)
	}
	f.lines = append(f.lines, line)
	return nil
}

// WriteLine buffers one line of JSON, given without its newline, as
// Write buffers an event's: for a file of another form of the events,
// such as Skaffold's (package skaffoldapi), laid out as safely.
func (f *File) WriteLine(line []byte) {
	start := len(f.buf)
	f.buf = append(f.buf, line...)
	f.lines = append(f.lines, f.buf[start:])
}

// Wants implements EncodedSink: the file gets the JSON form alone.
func (f *File) Wants() event.Form { return event.FormJSON }

// Flush implements Sink: it writes the buffered lines with one write.
func (f *File) Flush() error {
	if len(f.lines) == 0 {
		return nil
	}
	err := f.locked(func(end int64) error {
		at, out := layout(f.out[:0], end, f.lines)
		f.out = out
		_, err := f.f.WriteAt(out, at)
		return err
	})
	clear(f.lines)
	f.buf, f.lines = f.buf[:0], f.lines[:0]
	if err != nil {
		return fmt.Errorf("writing event log file: %w", err)
	}
	return nil
}

// Close closes the file without flushing it; Run flushes whenever it has
// caught up.
func (f *File) Close() error { return f.f.Close() }

// locked runs fn with the file's size while holding an exclusive flock.
func (f *File) locked(fn func(size int64) error) (err error) {
	fd := int(f.f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	defer func() {
		if uerr := unix.Flock(fd, unix.LOCK_UN); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unlocking: %w", uerr))
		}
	}()
	st, err := f.f.Stat()
	if err != nil {
		return err
	}
	return fn(st.Size())
}

// layout returns where to write and what, so that lines (given without
// their newlines) start after a file of size end and none of them crosses
// a page boundary unless it is longer than a page. When the line before
// the first one is already in the file, the write starts on that line's
// newline to pad it.
func layout(out []byte, end int64, lines [][]byte) (int64, []byte) {
	at := end
	for _, line := range lines {
		n := len(line) + 1
		pos := at + int64(len(out))
		if r := int(pos % page); r != 0 && r+n > page && n <= page && pos > 0 {
			pad := page - r
			if len(out) > 0 {
				out = out[:len(out)-1]
			} else {
				at-- // rewrite the newline that ends the file
			}
			out = append(out, spaces[:pad]...)
			out = append(out, '\n')
		}
		out = append(append(out, line...), '\n')
	}
	return at, out
}

// cutTornLine truncates f after its last newline when it does not end with one.
func cutTornLine(f *os.File, end int64) error {
	if end == 0 {
		return nil
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for pos := end; pos > 0; {
		n := min(chunk, pos)
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil && err != io.EOF {
			return err
		}
		if pos+n == end && buf[n-1] == '\n' {
			return nil
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return f.Truncate(pos + int64(i) + 1)
		}
	}
	return f.Truncate(0)
}
