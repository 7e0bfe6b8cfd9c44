// Package timeline folds a run's events into the spans of its timeline:
// each artifact's build with its Dockerfile steps and its push, tests,
// render, each deployer's deploy, the status check and each resource in
// it, file syncs and hoist dev's iterations, each with when it started,
// when it ended and how. The collector folds every run as its events are
// stored, so that the dashboard draws a run of any length from a few rows,
// and the trends across runs are read from the same rows.
package timeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// Kind is what a span times.
type Kind string

// The kinds of span. A step and a push are parts of a build (Parent);
// a resource is part of a status check.
const (
	Build     Kind = "build"
	Step      Kind = "step"
	Push      Kind = "push"
	Test      Kind = "test"
	Render    Kind = "render"
	Deploy    Kind = "deploy"
	Check     Kind = "check"
	Resource  Kind = "resource"
	Sync      Kind = "sync"
	Iteration Kind = "iteration"
)

// Span is one bar of a run's timeline.
type Span struct {
	// ID numbers the run's spans in the order they started, from 1.
	ID int
	// Parent is the span this one is part of (a step's build), or 0.
	Parent int
	Kind   Kind
	// Name is what the span is of: the image of a build, step, push,
	// test or sync; the deployer of a deploy; the resource
	// (kind/namespace/name) of a resource; the iteration's number.
	Name string
	// Detail says more: a step's "index/total instruction", a failure's
	// error code.
	Detail string
	Start  time.Time
	// End is zero while the span is open.
	End    time.Time
	Status pb.Status
	// From and To are the sequences of the events that started the span
	// and that last changed it.
	From, To uint32
}

// Open tells whether the span has not ended yet.
func (s *Span) Open() bool { return s.End.IsZero() }

// spanJSON is a span as the dashboard reads it.
type spanJSON struct {
	ID     int       `json:"id"`
	Parent int       `json:"parent,omitempty"`
	Kind   Kind      `json:"kind"`
	Name   string    `json:"name"`
	Detail string    `json:"detail,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"`
	Status string    `json:"status"`
	From   uint32    `json:"from"`
	To     uint32    `json:"to"`
}

// MarshalJSON writes the span with its status by name and its times in
// RFC 3339, as the event contract writes them.
func (s Span) MarshalJSON() ([]byte, error) {
	return json.Marshal(spanJSON{s.ID, s.Parent, s.Kind, s.Name, s.Detail, s.Start, s.End, s.Status.String(), s.From, s.To})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Span) UnmarshalJSON(data []byte) error {
	var j spanJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	st, ok := pb.Status_value[j.Status]
	if !ok {
		return fmt.Errorf("span %d: unknown status %q", j.ID, j.Status)
	}
	*s = Span{j.ID, j.Parent, j.Kind, j.Name, j.Detail, j.Start, j.End, pb.Status(st), j.From, j.To}
	return nil
}

// pushStart is the first line the Docker engine prints for a push: the
// build's output after it is the push's.
const pushStart = "The push refers to repository"

// Fold turns a run's events, in sequence order, into spans. It keeps only
// the spans still open, and the spans that changed since Changed was last
// called; a fold can be saved with MarshalJSON and resumed with
// UnmarshalJSON between batches of events. It is not safe for concurrent
// use.
type Fold struct {
	// WorkingDir and Command are the run's, from its metaEvent.
	WorkingDir, Command string
	next                int
	open                map[string]*Span
	changed             map[int]*Span
	order               []int
}

// New returns the fold of a run that has no event yet.
func New() *Fold {
	return &Fold{next: 1, open: map[string]*Span{}, changed: map[int]*Span{}}
}

// foldJSON is what a fold saves between batches.
type foldJSON struct {
	WorkingDir string           `json:"workingDir,omitempty"`
	Command    string           `json:"command,omitempty"`
	Next       int              `json:"next"`
	Open       map[string]*Span `json:"open,omitempty"`
}

// MarshalJSON saves the fold: the run's next span id and its open spans.
func (f *Fold) MarshalJSON() ([]byte, error) {
	return json.Marshal(foldJSON{f.WorkingDir, f.Command, f.next, f.open})
}

// UnmarshalJSON resumes a fold that MarshalJSON saved.
func (f *Fold) UnmarshalJSON(data []byte) error {
	var j foldJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.Next < 1 {
		return fmt.Errorf("a saved timeline fold with next span %d", j.Next)
	}
	*f = *New()
	f.WorkingDir, f.Command, f.next = j.WorkingDir, j.Command, j.Next
	for k, s := range j.Open {
		f.open[k] = s
	}
	return nil
}

// Changed returns the spans started or changed since the last call, in
// the order they first changed, and forgets them.
func (f *Fold) Changed() []Span {
	out := make([]Span, 0, len(f.order))
	for _, id := range f.order {
		out = append(out, *f.changed[id])
	}
	clear(f.changed)
	f.order = f.order[:0]
	return out
}

func (f *Fold) touch(s *Span, seq uint32) {
	s.To = seq
	if _, ok := f.changed[s.ID]; !ok {
		f.order = append(f.order, s.ID)
	}
	f.changed[s.ID] = s
}

// start opens a span under key; one still open there is closed first with
// status.
func (f *Fold) start(key string, s Span, at time.Time, seq uint32) *Span {
	if old := f.open[key]; old != nil {
		f.end(key, pb.Status_CANCELED, "", at, seq)
	}
	s.ID, s.Start, s.Status, s.From = f.next, at, pb.Status_IN_PROGRESS, seq
	f.next++
	sp := &s
	f.open[key] = sp
	f.touch(sp, seq)
	return sp
}

// end closes the span open under key, if any, and returns it.
func (f *Fold) end(key string, status pb.Status, detail string, at time.Time, seq uint32) *Span {
	s := f.open[key]
	if s == nil {
		return nil
	}
	delete(f.open, key)
	s.End, s.Status = at, status
	if detail != "" {
		s.Detail = detail
	}
	f.touch(s, seq)
	return s
}

// instant records something that ended as soon as it started, such as a
// build served from the cache, or an end whose start was not seen.
func (f *Fold) instant(s Span, status pb.Status, at time.Time, seq uint32) {
	s.ID, s.Start, s.End, s.Status, s.From = f.next, at, at, status, seq
	f.next++
	f.touch(&s, seq)
}

func done(st pb.Status) bool {
	return st != pb.Status_IN_PROGRESS && st != pb.Status_STATUS_UNSPECIFIED
}

func code(e *pb.Error) string { return e.GetCode() }

// Apply folds one event. Events must come in sequence order.
func (f *Fold) Apply(ev *pb.Event) {
	at, seq := ev.GetTimestamp().AsTime(), ev.GetSequence()
	switch p := ev.GetPayload().(type) {
	case *pb.Event_MetaEvent:
		f.WorkingDir, f.Command = p.MetaEvent.WorkingDir, p.MetaEvent.Command
	case *pb.Event_BuildEvent:
		f.build(p.BuildEvent, at, seq)
	case *pb.Event_TestEvent:
		e := p.TestEvent
		f.simple(Test, "test/"+e.Image, e.Image, e.Status, e.Log != "", code(e.Error), at, seq)
	case *pb.Event_RenderEvent:
		e := p.RenderEvent
		f.simple(Render, "render", "render", e.Status, false, code(e.Error), at, seq)
	case *pb.Event_DeployEvent:
		e := p.DeployEvent
		f.simple(Deploy, "deploy/"+e.Deployer, e.Deployer, e.Status, len(e.Resources) > 0 || e.Log != "", code(e.Error), at, seq)
	case *pb.Event_StatusCheckEvent:
		f.check(p.StatusCheckEvent, at, seq)
	case *pb.Event_FileSyncEvent:
		e := p.FileSyncEvent
		f.simple(Sync, "sync/"+e.Image, e.Image, e.Status, false, code(e.Error), at, seq)
	case *pb.Event_DevLoopEvent:
		e := p.DevLoopEvent
		n := strconv.FormatUint(uint64(e.Iteration), 10)
		f.simple(Iteration, "iteration/"+n, n, e.Status, false, code(e.Error), at, seq)
	case *pb.Event_TerminationEvent:
		// What is still open ends with the run: as it did, or canceled
		// when the run ended otherwise than by succeeding.
		st := p.TerminationEvent.Status
		if st != pb.Status_SUCCEEDED {
			st = pb.Status_CANCELED
		}
		for _, key := range f.openKeys() {
			f.end(key, st, "", at, seq)
		}
	}
}

// openKeys lists the open spans' keys, parts before the spans they are
// part of, each group in the order the spans started.
func (f *Fold) openKeys() []string {
	keys := make([]string, 0, len(f.open))
	for k := range f.open {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if f.open[k].Parent != 0 {
			return 0
		}
		return 1
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(f.open[a].ID, f.open[b].ID))
	})
	return keys
}

// simple folds the events of something that starts with an IN_PROGRESS
// event, may report progress (more), and ends with a final status.
func (f *Fold) simple(kind Kind, key, name string, st pb.Status, more bool, errCode string, at time.Time, seq uint32) {
	switch {
	case done(st):
		if f.end(key, st, errCode, at, seq) == nil {
			f.instant(Span{Kind: kind, Name: name, Detail: errCode}, st, at, seq)
		}
	case more:
		if s := f.open[key]; s != nil {
			f.touch(s, seq)
			return
		}
		f.start(key, Span{Kind: kind, Name: name}, at, seq)
	default:
		f.start(key, Span{Kind: kind, Name: name}, at, seq)
	}
}

func (f *Fold) build(e *pb.BuildEvent, at time.Time, seq uint32) {
	key := "build/" + e.Image
	stepKey, pushKey := "step/"+e.Image, "push/"+e.Image
	b := f.open[key]
	if done(e.Status) {
		if b == nil {
			f.instant(Span{Kind: Build, Name: e.Image, Detail: code(e.Error)}, e.Status, at, seq)
			return
		}
		f.end(stepKey, e.Status, "", at, seq)
		f.end(pushKey, e.Status, "", at, seq)
		f.end(key, e.Status, code(e.Error), at, seq)
		return
	}
	if e.Log == "" && e.Step == nil {
		f.start(key, Span{Kind: Build, Name: e.Image}, at, seq)
		return
	}
	if b == nil {
		// Output of a build whose start was not seen.
		b = f.start(key, Span{Kind: Build, Name: e.Image}, at, seq)
	}
	switch {
	case e.Step != nil:
		f.end(stepKey, pb.Status_SUCCEEDED, "", at, seq)
		f.start(stepKey, Span{Parent: b.ID, Kind: Step, Name: e.Image,
			Detail: fmt.Sprintf("%d/%d %s", e.Step.Index, e.Step.Total, e.Step.Instruction)}, at, seq)
	case strings.HasPrefix(e.Log, pushStart) && f.open[pushKey] == nil:
		f.end(stepKey, pb.Status_SUCCEEDED, "", at, seq)
		f.start(pushKey, Span{Parent: b.ID, Kind: Push, Name: e.Image}, at, seq)
	}
}

func (f *Fold) check(e *pb.StatusCheckEvent, at time.Time, seq uint32) {
	if e.Resource == "" {
		if !done(e.Status) {
			f.start("check", Span{Kind: Check, Name: "status check"}, at, seq)
			return
		}
		// What the check still waited for ends with it: canceled, as the
		// checks stop at the first failure.
		for _, key := range f.openKeys() {
			if strings.HasPrefix(key, "resource/") {
				st := e.Status
				if st != pb.Status_SUCCEEDED {
					st = pb.Status_CANCELED
				}
				f.end(key, st, "", at, seq)
			}
		}
		if f.end("check", e.Status, code(e.Error), at, seq) == nil {
			f.instant(Span{Kind: Check, Name: "status check", Detail: code(e.Error)}, e.Status, at, seq)
		}
		return
	}
	key := "resource/" + e.Resource
	r := f.open[key]
	if r == nil {
		// A resource is watched from the start of its check.
		parent := Span{}
		if c := f.open["check"]; c != nil {
			parent = *c
		}
		start := at
		if parent.ID != 0 {
			start = parent.Start
		}
		r = f.start(key, Span{Parent: parent.ID, Kind: Resource, Name: e.Resource}, start, seq)
	}
	if done(e.Status) {
		f.end(key, e.Status, code(e.Error), at, seq)
		return
	}
	f.touch(r, seq)
}
