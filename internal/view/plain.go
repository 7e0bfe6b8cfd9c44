package view

import (
	"io"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// Plain is the view where a terminal cannot be redrawn, a sink of the bus:
// the text timeline, one appended line per event at or above the level,
// and the run's summary after its terminationEvent.
type Plain struct {
	w     io.Writer
	o     Options
	model *Model
	buf   []byte
}

// NewPlain returns a plain view that writes to w.
func NewPlain(w io.Writer, o Options) *Plain {
	summary := o
	summary.SummaryOnly = true
	return &Plain{w: w, o: o, model: NewModel(summary)}
}

// Write implements sink.Sink.
func (p *Plain) Write(env *pb.Envelope) error {
	p.model.Apply(env)
	if event.LevelOf(env.GetEvent()) >= p.o.Level {
		p.buf = p.o.Logs.AppendText(p.buf, env, p.o.Color)
		p.buf = append(p.buf, '\n')
	}
	p.buf = p.model.TakeLines(p.buf)
	return nil
}

// Flush implements sink.Sink.
func (p *Plain) Flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.w.Write(p.buf)
	p.buf = p.buf[:0]
	return err
}
