package skaffoldapi

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/event/sink"
)

// LogFile writes a run's events as Skaffold writes its event log file
// (skaffold --event-log-file F): the v1 API's log entries to F and the
// v2 API's events to F.v2, one JSON object a line, but as the run goes
// rather than when it ends, and with sink.File's care, so that a killed
// hoist leaves whole lines. The v2 file has no application logs, as
// Skaffold's has none. It is a sink.Sink.
type LogFile struct {
	v1, v2 *sink.File
	t1     Translator[*skaffoldv1.Event, *skaffoldv1.State]
	t2     Translator[*skaffoldv2.Event, *skaffoldv2.State]
	// srv, when set, gives the events its clients handed to Handle,
	// written at their place in the run.
	srv          *Server
	next1, next2 int
	line         []byte
}

var _ sink.Sink = (*LogFile)(nil)

// LogFileOptions are what a LogFile writes.
type LogFileOptions struct {
	// Path is F: the v1 file; the v2 file is F.v2.
	Path string
	// NewV1 and NewV2 return a translator from the run's first event.
	NewV1 func() Translator[*skaffoldv1.Event, *skaffoldv1.State]
	NewV2 func() Translator[*skaffoldv2.Event, *skaffoldv2.State]
	// Server, when set, is the run's Skaffold API, whose handled events
	// the files get too.
	Server *Server
}

// OpenLogFile opens (creating) both files for appending, as Skaffold does.
func OpenLogFile(o LogFileOptions) (*LogFile, error) {
	v1, err := sink.OpenFile(o.Path)
	if err != nil {
		return nil, fmt.Errorf("opening the Skaffold v1 event log file %s: %w", o.Path, err)
	}
	v2, err := sink.OpenFile(o.Path + ".v2")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening the Skaffold v2 event log file %s.v2: %w", o.Path, err), v1.Close())
	}
	return &LogFile{v1: v1, v2: v2, t1: o.NewV1(), t2: o.NewV2(), srv: o.Server}, nil
}

// Write implements sink.Sink: it buffers the lines of env in both files,
// after the handled events that came before it.
func (f *LogFile) Write(env *pb.Envelope) error {
	seq := env.GetEvent().GetSequence()
	if f.srv != nil {
		var h1 []*skaffoldv1.LogEntry
		h1, f.next1 = f.srv.handled1.since(f.next1, seq-1)
		for _, e := range h1 {
			if err := f.writeLine(f.v1, e); err != nil {
				return err
			}
		}
		var h2 []*skaffoldv2.Event
		h2, f.next2 = f.srv.handled2.since(f.next2, seq-1)
		for _, e := range h2 {
			if err := f.writeV2(e); err != nil {
				return err
			}
		}
	}
	for _, ev := range f.t1.Translate(env) {
		if err := f.writeLine(f.v1, LogEntry(env, ev)); err != nil {
			return err
		}
	}
	for _, ev := range f.t2.Translate(env) {
		if err := f.writeV2(ev); err != nil {
			return err
		}
	}
	return nil
}

func (f *LogFile) writeV2(ev *skaffoldv2.Event) error {
	if isAppLog(ev) {
		return nil
	}
	return f.writeLine(f.v2, ev)
}

func (f *LogFile) writeLine(to *sink.File, msg proto.Message) error {
	var err error
	if f.line, err = fileStyle.appendJSON(f.line[:0], msg); err != nil {
		return err
	}
	to.WriteLine(f.line)
	return nil
}

// Flush implements sink.Sink: it writes both files' buffered lines.
func (f *LogFile) Flush() error {
	return errors.Join(f.v1.Flush(), f.v2.Flush())
}

// Close closes both files; Flush has written what they hold.
func (f *LogFile) Close() error {
	return errors.Join(f.v1.Close(), f.v2.Close())
}
