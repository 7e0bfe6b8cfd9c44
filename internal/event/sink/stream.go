package sink

import (
	"fmt"
	"io"
	"log/slog"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// Format is how a stream sink renders events.
type Format string

// The formats of a Stream: JSON lines, as in the event contract, or one
// human line per event.
const (
	JSON Format = "json"
	Text Format = "text"
)

// Stream writes events to a writer such as stdout, as JSON lines or text,
// leaving out events below its level.
type Stream struct {
	w     io.Writer
	fmt   Format
	level slog.Level
	color bool
	logs  event.LogFormat
	buf   []byte
}

var _ EncodedSink = (*Stream)(nil)

// NewStream returns a sink that writes events at level or above to w. With
// color, text is colored for a terminal.
func NewStream(w io.Writer, format Format, level slog.Level, color bool) (*Stream, error) {
	if format != JSON && format != Text {
		return nil, fmt.Errorf("unknown event format %q: use json or text", format)
	}
	return &Stream{w: w, fmt: format, level: level, color: color}, nil
}

// ShowLogs sets how the text form shows application log lines
// (deploy.logs); it is called before the stream is started.
func (s *Stream) ShowLogs(f event.LogFormat) { s.logs = f }

// Write implements Sink.
func (s *Stream) Write(env *pb.Envelope) error {
	if event.LevelOf(env.Event) < s.level {
		return nil
	}
	return s.append(env)
}

// WriteEncoded implements EncodedSink: as JSON, it writes the line the
// bus shares with its other readers.
func (s *Stream) WriteEncoded(e *event.Encoded) error {
	if e.Level() < s.level {
		return nil
	}
	if s.fmt == Text {
		return s.append(e.Env())
	}
	line, err := e.JSON()
	if err != nil {
		return fmt.Errorf("encoding event %d: %w", e.Seq(), err)
	}
	s.buf = append(append(s.buf, line...), '\n')
	return nil
}

// Wants implements EncodedSink: as JSON, the stream writes the JSON form
// alone; as text, it reads the envelope.
func (s *Stream) Wants() event.Form {
	if s.fmt == JSON {
		return event.FormJSON
	}
	return 0
}

func (s *Stream) append(env *pb.Envelope) error {
	if s.fmt == Text {
		s.buf = s.logs.AppendText(s.buf, env, s.color)
	} else {
		var err error
		if s.buf, err = event.AppendJSON(s.buf, env); err != nil {
			return fmt.Errorf("encoding event %d: %w", env.Event.Sequence, err)
		}
	}
	s.buf = append(s.buf, '\n')
	return nil
}

// Flush implements Sink.
func (s *Stream) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}
