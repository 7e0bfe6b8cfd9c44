// Package termshot lets tests see what a person at a terminal sees: it
// runs a command under a pseudo-terminal (github.com/creack/pty) and
// keeps everything the command wrote, and it replays that output through
// a terminal emulator (github.com/charmbracelet/x/vt) to read back the
// screen as text, at any moment of the run, or draw it as an SVG image.
package termshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// Chunk is one read of a command's output, and when it came.
type Chunk struct {
	At   time.Duration
	Data []byte
}

// Recording is what a command run under a pseudo-terminal wrote.
type Recording struct {
	Cols, Rows int
	// Chunks are its output, as read from the terminal, in order.
	Chunks []Chunk
}

// Bytes is the whole output.
func (r *Recording) Bytes() []byte {
	var b bytes.Buffer
	for _, c := range r.Chunks {
		b.Write(c.Data)
	}
	return b.Bytes()
}

// Session is a command running under a pseudo-terminal.
type Session struct {
	cmd  *exec.Cmd
	ptmx *os.File

	mu      sync.Mutex
	rec     Recording
	changed chan struct{}
	read    chan error
}

// Start starts cmd with a pseudo-terminal of cols×rows as its stdin,
// stdout and stderr, and keeps what it writes.
func Start(cmd *exec.Cmd, cols, rows int) (*Session, error) {
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return nil, fmt.Errorf("starting %s under a pseudo-terminal: %w", cmd.Path, err)
	}
	s := &Session{cmd: cmd, ptmx: ptmx, rec: Recording{Cols: cols, Rows: rows}, changed: make(chan struct{}), read: make(chan error, 1)}
	go s.follow(time.Now())
	return s, nil
}

// follow reads the terminal until the command's side is closed.
func (s *Session) follow(start time.Time) {
	buf := make([]byte, 64<<10)
	for {
		n, err := s.ptmx.Read(buf)
		s.mu.Lock()
		if n > 0 {
			s.rec.Chunks = append(s.rec.Chunks, Chunk{At: time.Since(start), Data: bytes.Clone(buf[:n])})
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		if err != nil {
			// Linux ends a pseudo-terminal whose other side closed with
			// EIO.
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) {
				err = nil
			}
			s.read <- err
			return
		}
	}
}

// Recording is what the command wrote so far.
func (s *Session) Recording() *Recording {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rec
	r.Chunks = slices.Clone(r.Chunks)
	return &r
}

// WaitFor waits, at most timeout, until what the command wrote satisfies
// ok, and reports whether it did.
func (s *Session) WaitFor(timeout time.Duration, ok func(*Recording) bool) bool {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if ok(s.Recording()) {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}

// Signal sends sig to the command.
func (s *Session) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Wait waits for the command to exit and returns everything it wrote,
// and how it exited.
func (s *Session) Wait() (*Recording, error) {
	waitErr := s.cmd.Wait()
	readErr := <-s.read
	if cerr := s.ptmx.Close(); readErr == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		readErr = cerr
	}
	if readErr != nil {
		return s.Recording(), fmt.Errorf("reading the pseudo-terminal: %w", readErr)
	}
	return s.Recording(), waitErr
}

// Run runs cmd under a pseudo-terminal of cols×rows, as Start does, and
// returns what it wrote, and how it exited.
func Run(cmd *exec.Cmd, cols, rows int) (*Recording, error) {
	s, err := Start(cmd, cols, rows)
	if err != nil {
		return nil, err
	}
	return s.Wait()
}

// Replay plays the recording on a terminal of its size, calling each
// after every chunk with the screen as it stands, until each returns
// false. It returns the screen at the end.
func (r *Recording) Replay(each func(s *Screen, c Chunk) bool) *Screen {
	s := NewScreen(r.Cols, r.Rows)
	for _, c := range r.Chunks {
		s.write(c.Data)
		if each != nil && !each(s, c) {
			break
		}
	}
	return s
}

// Screen is an emulated terminal: what was written to it, as a person
// would see it, and the lines that scrolled off its top.
type Screen struct {
	em *vt.Emulator
}

// NewScreen returns an empty terminal of cols×rows.
func NewScreen(cols, rows int) *Screen {
	em := vt.NewEmulator(cols, rows)
	em.SetScrollbackSize(100000)
	// The emulator answers queries on its input, which nothing reads.
	go func() { _, _ = io.Copy(io.Discard, em) }()
	return &Screen{em: em}
}

// Write writes p as a program writes to a terminal, whose line discipline
// turns each newline into a carriage return and a newline.
func (s *Screen) Write(p []byte) (int, error) {
	s.write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")))
	return len(p), nil
}

func (s *Screen) write(p []byte) {
	_, _ = s.em.Write(p) // the emulator takes every byte
}

// Lines are the text of every line, those that scrolled off first, with
// the empty lines at the end left out and the spaces at the end of each
// line trimmed.
func (s *Screen) Lines() []string {
	var lines []string
	for _, row := range s.rows() {
		var b strings.Builder
		for _, c := range row {
			b.WriteString(c.text)
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Visible are the lines on the screen now, without those that scrolled
// off, the empty lines at the end left out.
func (s *Screen) Visible() []string {
	lines := s.Lines()
	if n := s.em.ScrollbackLen(); n <= len(lines) {
		return lines[n:]
	}
	return nil
}

// Text is Lines joined by newlines.
func (s *Screen) Text() string { return strings.Join(s.Lines(), "\n") }

// cell is one cell's text and style.
type cell struct {
	text  string
	style uv.Style
	wide  bool
}

// rows are the cells of the scrollback's lines, then of the screen's.
func (s *Screen) rows() [][]cell {
	var rows [][]cell
	read := func(width int, at func(x int) *uv.Cell) {
		var row []cell
		for x := 0; x < width; x++ {
			c := at(x)
			switch {
			case c == nil:
				row = append(row, cell{text: " "})
			case c.Width == 0:
				// The second column of a wide character.
			case c.Content == "":
				row = append(row, cell{text: " ", style: c.Style})
			default:
				row = append(row, cell{text: c.Content, style: c.Style, wide: c.Width > 1})
			}
		}
		rows = append(rows, row)
	}
	for y := range s.em.ScrollbackLen() {
		read(s.em.Width(), func(x int) *uv.Cell { return s.em.ScrollbackCellAt(x, y) })
	}
	for y := range s.em.Height() {
		read(s.em.Width(), func(x int) *uv.Cell { return s.em.CellAt(x, y) })
	}
	return rows
}
