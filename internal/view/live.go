package view

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// DefaultInterval is the shortest time between two frames of a live view:
// ten frames a second, whatever the rate of events.
const DefaultInterval = 100 * time.Millisecond

// LiveOptions say how a live view shows a run.
type LiveOptions struct {
	Options
	// Interval is the shortest time between two frames; 0 is
	// DefaultInterval.
	Interval time.Duration
	// Size gives the terminal's width and height; nil asks the terminal
	// of the writer, else takes 80×24.
	Size func() (width, height int)
	// Now is the clock of elapsed times; nil is time.Now.
	Now func() time.Time
}

// Live is the view on an interactive terminal, a sink of the bus: the
// lines of what is done scroll up, and below them the lines of what is in
// progress are redrawn in place, at most once per interval, by a
// goroutine of its own. The events only update the model, so a build
// that prints a million lines costs the terminal a few frames a second.
// Close stops it; the terminationEvent draws its last frame.
type Live struct {
	mu       sync.Mutex
	w        io.Writer
	model    *Model
	size     func() (int, int)
	now      func() time.Time
	interval time.Duration

	// drawn is how many rows the live lines take on the screen, under the
	// cursor's row; shown is what they show.
	drawn int
	shown string
	buf   []byte
	err   error
	done  bool

	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// NewLive returns a live view that writes to the terminal w, and starts
// its frames.
func NewLive(w io.Writer, o LiveOptions) *Live {
	l := &Live{w: w, model: NewModel(o.Options), size: o.Size, now: o.Now, interval: o.Interval,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if l.interval <= 0 {
		l.interval = DefaultInterval
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.size == nil {
		l.size = terminalSize(w)
	}
	go l.tick()
	return l
}

// terminalSize asks the terminal of w for its size, or takes 80×24.
func terminalSize(w io.Writer) func() (int, int) {
	return func() (int, int) {
		if f, ok := w.(*os.File); ok {
			if width, height, err := term.GetSize(int(f.Fd())); err == nil && width > 0 && height > 0 {
				return width, height
			}
		}
		return 80, 24
	}
}

func (l *Live) tick() {
	defer close(l.stopped)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if !l.done {
				l.draw(false)
			}
			l.mu.Unlock()
		}
	}
}

// Write implements sink.Sink: it folds the event into the model, which
// the next frame shows.
func (l *Live) Write(env *pb.Envelope) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.model.Apply(env)
	return l.err
}

// Flush implements sink.Sink. Frames come at their own pace; once the run
// has ended, Flush draws the last one: the lines still to print and the
// summary, without live lines.
func (l *Live) Flush() error {
	l.mu.Lock()
	ended := l.model.Ended()
	l.mu.Unlock()
	if ended {
		return l.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close stops the frames and draws the last one, leaving the cursor under
// what was printed. It returns the first error writing to the terminal.
func (l *Live) Close() error {
	l.once.Do(func() {
		close(l.stop)
		<-l.stopped
		l.mu.Lock()
		defer l.mu.Unlock()
		l.draw(true)
		l.done = true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Around returns a writer to another stream of the same terminal, such as
// stderr: what it writes goes above the live lines instead of through them.
func (l *Live) Around(w io.Writer) io.Writer { return around{l, w} }

type around struct {
	l *Live
	w io.Writer
}

// Write erases the live lines and prints the lines the events printed
// so far, so that p comes after them, as it happened; the next frame
// draws the live lines again, under p.
func (a around) Write(p []byte) (int, error) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	if !a.l.done {
		a.l.write(a.l.model.TakeLines(a.l.erase(a.l.buf[:0])))
		a.l.drawn, a.l.shown = 0, ""
	}
	return a.w.Write(p)
}

// erase appends what takes the cursor back over the live lines and
// erases them.
func (l *Live) erase(b []byte) []byte {
	if l.drawn == 0 {
		return b
	}
	b = append(b, '\r')
	b = append(b, ansi.CursorUp(l.drawn)...)
	return append(b, ansi.EraseScreenBelow...)
}

// draw writes one frame: the lines the model printed since the last one,
// then the live lines, each cut to the terminal's width so that it takes
// one row, and no more of them than the terminal has rows. A frame that
// would show what is already on the screen is not written.
func (l *Live) draw(final bool) {
	printed := l.model.TakeLines(nil)
	var live []string
	if !final {
		live = l.model.Live(l.now())
	}
	width, height := l.size()
	if rows := height - 2; len(live) > rows && rows > 0 {
		more := len(live) - rows + 1
		live = append(live[:rows-1], l.model.st.dim(counted(more, "more line")+" in progress"))
	}
	var frame []byte
	for _, s := range live {
		frame = append(frame, ansi.Truncate(s, width-1, "…")...)
		frame = append(frame, '\n')
	}
	if len(printed) == 0 && string(frame) == l.shown {
		return
	}
	b := l.erase(l.buf[:0])
	b = append(b, printed...)
	b = append(b, frame...)
	l.drawn, l.shown = len(live), string(frame)
	l.write(b)
	l.buf = b[:0]
}

// write writes b to the terminal, keeping the first error.
func (l *Live) write(b []byte) {
	if len(b) == 0 {
		return
	}
	if _, err := l.w.Write(b); err != nil && l.err == nil {
		l.err = err
	}
}
