package view

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
)

// Options say what a view shows and how.
type Options struct {
	// Color paints statuses and output for a terminal.
	Color bool
	// Level is the lowest level of the events that print lines; the
	// summary prints at the level of the terminationEvent.
	Level slog.Level
	// Logs is how application log lines are shown (deploy.logs).
	Logs event.LogFormat
	// SummaryOnly prints the summary and nothing for each event: the
	// plain form prints each event itself.
	SummaryOnly bool
}

// maxOutput bounds the output a view keeps of one step (or one test): a
// step that prints more is shown from where the bound starts.
const maxOutput = 1 << 20

// verbWidth is the width of the verb column of the lines.
const verbWidth = 9

// maxInstruction is the most of a Dockerfile instruction a live line
// shows, leaving room for the step's last output line.
const maxInstruction = 48

// Model is what a view knows of a run, folded from its events in order:
// every artifact's build, the tests, deploys, status check, port
// forwards, syncs and dev loop iterations. It collects the lines to print
// as events come (TakeLines) and gives the lines of what is in progress
// (Live). It is not safe for concurrent use.
type Model struct {
	o  Options
	st style

	runID, command, version string
	started                 time.Time

	artifacts []*artifact
	byImage   map[string]*artifact
	lastArt   *artifact

	tests  []*task
	byTest map[string]*task

	deploys []*deployment

	check      *task
	resources  []*resource
	byResource map[string]*resource

	ports  []*pb.PortEvent
	syncs  map[string]*task
	synced struct{ times, files int }

	render    *task
	iteration *task

	ended bool
	out   []byte
}

// artifact is one artifact's build.
type artifact struct {
	task
	step   *pb.Step
	result *pb.Artifact
}

// task is one piece of work that starts, may print, and ends.
type task struct {
	name       string
	status     pb.Status
	start, end time.Time
	// last is its last output line; out what it printed since its
	// current step started.
	last string
	out  output
	err  *pb.Error
	// detail is what its end said.
	detail string
}

// deployment is one deployer's deploy (or delete).
type deployment struct {
	task
	resources []*pb.Resource
}

// resource is one resource of the status check.
type resource struct {
	task
}

// NewModel returns the model of a run that has not started.
func NewModel(o Options) *Model {
	return &Model{o: o, st: style{o.Color}, byImage: map[string]*artifact{}, byTest: map[string]*task{},
		byResource: map[string]*resource{}, syncs: map[string]*task{}}
}

// Ended reports whether the run's terminationEvent has been applied.
func (m *Model) Ended() bool { return m.ended }

// TakeLines appends the lines collected since the last call to b, each
// ending in a newline, and forgets them.
func (m *Model) TakeLines(b []byte) []byte {
	b = append(b, m.out...)
	m.out = m.out[:0]
	return b
}

// print collects one line.
func (m *Model) print(s string) {
	m.out = append(append(m.out, s...), '\n')
}

// row collects a line of the view's columns: an icon, a verb and the
// parts that are not empty.
func (m *Model) row(icon, verb string, parts ...string) {
	m.print(m.rowText(icon, verb, parts...))
}

func (m *Model) rowText(icon, verb string, parts ...string) string {
	var b strings.Builder
	b.WriteString(icon)
	b.WriteByte(' ')
	b.WriteString(pad(verb, verbWidth))
	for _, p := range parts {
		if p != "" {
			b.WriteString("  ")
			b.WriteString(p)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// Apply folds one event into the model, collecting the lines it prints.
func (m *Model) Apply(env *pb.Envelope) {
	ev := env.GetEvent()
	ts := ev.GetTimestamp().AsTime()
	level := event.LevelOf(ev)
	show := !m.o.SummaryOnly && level >= m.o.Level
	switch p := ev.GetPayload().(type) {
	case *pb.Event_MetaEvent:
		m.meta(env.EventId, p.MetaEvent, ts, show)
	case *pb.Event_BuildEvent:
		m.build(p.BuildEvent, ts, show)
	case *pb.Event_TestEvent:
		m.test(p.TestEvent, ts, show)
	case *pb.Event_DeployEvent:
		m.deploy(p.DeployEvent, ts, show)
	case *pb.Event_StatusCheckEvent:
		m.statusCheck(p.StatusCheckEvent, ts, show)
	case *pb.Event_PortEvent:
		m.port(p.PortEvent, show)
	case *pb.Event_FileSyncEvent:
		m.sync(p.FileSyncEvent, ts, show)
	case *pb.Event_DevLoopEvent:
		m.devLoop(p.DevLoopEvent, ts, show)
	case *pb.Event_RenderEvent:
		m.renderEvent(p.RenderEvent, ts, show)
	case *pb.Event_ApplicationLogEvent:
		if show {
			m.out = m.o.Logs.AppendLine(m.out, p.ApplicationLogEvent, m.o.Color)
			m.out = append(m.out, '\n')
		}
	case *pb.Event_TerminationEvent:
		m.ended = true
		if level >= m.o.Level {
			m.summary(p.TerminationEvent, ts)
		}
	}
}

func (m *Model) meta(id string, e *pb.MetaEvent, ts time.Time, show bool) {
	m.runID, m.command, m.version, m.started = id, e.Command, e.Version, ts
	for _, img := range e.Artifacts {
		m.artifact(img)
	}
	if !show {
		return
	}
	m.print(m.st.bold("hoist "+e.Command) + m.st.dim(fmt.Sprintf(" · hoist version %s · run id %s", e.Version, id)))
}

// artifact returns the build of image, known from now on.
func (m *Model) artifact(image string) *artifact {
	if a := m.lastArt; a != nil && a.name == image {
		return a
	}
	a := m.byImage[image]
	if a == nil {
		a = &artifact{task: task{name: image}}
		m.byImage[image] = a
		m.artifacts = append(m.artifacts, a)
	}
	m.lastArt = a
	return a
}

func (m *Model) build(e *pb.BuildEvent, ts time.Time, show bool) {
	a := m.artifact(e.Image)
	if e.Log != "" {
		if e.Step != nil {
			a.step = e.Step
			a.out.reset()
		}
		a.last = e.Log
		if !m.o.SummaryOnly {
			a.out.add(e.Log)
		}
		return
	}
	switch e.Status {
	case pb.Status_IN_PROGRESS:
		a.begin(ts)
		a.step, a.result = nil, nil
		return
	case pb.Status_SUCCEEDED, pb.Status_SKIPPED:
		a.finish(e.Status, ts, e.Error)
		a.result = e.Artifact
	default:
		a.finish(e.Status, ts, e.Error)
	}
	if !show {
		return
	}
	w := m.imageWidth()
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.row(m.st.ok(), "built", pad(a.name, w), ref(e.Artifact), m.st.dim(a.took()))
	case pb.Status_SKIPPED:
		m.row(m.st.skip(), "cached", pad(a.name, w), ref(e.Artifact))
	case pb.Status_FAILED:
		m.row(m.st.fail(), "failed", pad(a.name, w), m.at(a.step), m.st.dim(a.took()))
		m.output(&a.out)
		m.errorLines(e.Error, a.out.lines() > 0)
	default:
		m.row(m.st.cancel(), strings.ToLower(e.Status.String()), pad(a.name, w), m.st.dim(a.took()))
		m.errorLines(e.Error, false)
	}
}

// verb is what a deploy did: deployed, or deleted when it is hoist
// delete, or the end of hoist dev, which deletes every object.
func (m *Model) verb(d *deployment) string {
	if m.command == "delete" || len(d.resources) > 0 && !slices.ContainsFunc(d.resources, func(r *pb.Resource) bool { return r.Action != "deleted" }) {
		return "deleted"
	}
	return "deployed"
}

// at names the step a build failed at.
func (m *Model) at(s *pb.Step) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("at step %d/%d %s", s.Index, s.Total, s.Instruction)
}

func (m *Model) test(e *pb.TestEvent, ts time.Time, show bool) {
	t := m.byTest[e.Image]
	if t == nil {
		t = &task{name: e.Image}
		m.byTest[e.Image] = t
		m.tests = append(m.tests, t)
	}
	if e.Log != "" {
		t.last = e.Log
		if !m.o.SummaryOnly {
			t.out.add(e.Log)
		}
		return
	}
	if e.Status == pb.Status_IN_PROGRESS {
		t.begin(ts)
		return
	}
	t.finish(e.Status, ts, e.Error)
	if !show {
		return
	}
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.row(m.st.ok(), "tested", t.name, m.st.dim(t.took()))
	case pb.Status_FAILED:
		m.row(m.st.fail(), "failed", "test of "+t.name, m.st.dim(t.took()))
		m.output(&t.out)
		m.errorLines(e.Error, t.out.lines() > 0)
	default:
		m.row(m.st.cancel(), strings.ToLower(e.Status.String()), "test of "+t.name, m.st.dim(t.took()))
		m.errorLines(e.Error, false)
	}
}

func (m *Model) deploy(e *pb.DeployEvent, ts time.Time, show bool) {
	var d *deployment
	if n := len(m.deploys); n > 0 && m.deploys[n-1].name == e.Deployer && m.deploys[n-1].status == pb.Status_IN_PROGRESS {
		d = m.deploys[n-1]
	}
	switch {
	case len(e.Resources) > 0:
		if d == nil {
			return
		}
		d.resources = append(d.resources, e.Resources...)
		if show {
			for _, r := range e.Resources {
				m.print("  " + pad(e.Deployer, verbWidth) + "  " + pad(r.Action, 10) + "  " + objectName(r))
			}
		}
		return
	case e.Log != "":
		if d != nil {
			d.last = e.Log
		}
		if show {
			m.print("  " + pad(e.Deployer, verbWidth) + "  " + m.st.dim("│ "+e.Log))
		}
		return
	case e.Status == pb.Status_IN_PROGRESS:
		d = &deployment{task: task{name: e.Deployer}}
		d.begin(ts)
		m.deploys = append(m.deploys, d)
		return
	}
	if d == nil {
		return
	}
	d.finish(e.Status, ts, e.Error)
	if !show {
		return
	}
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.row(m.st.ok(), m.verb(d), d.name, counted(len(d.resources), "object"), m.st.dim(d.took()))
	case pb.Status_FAILED:
		m.row(m.st.fail(), "failed", d.name, m.st.dim(d.took()))
		m.errorLines(e.Error, false)
	default:
		m.row(m.st.cancel(), strings.ToLower(e.Status.String()), d.name, m.st.dim(d.took()))
		m.errorLines(e.Error, false)
	}
}

func (m *Model) statusCheck(e *pb.StatusCheckEvent, ts time.Time, show bool) {
	if e.Resource == "" {
		if e.Status == pb.Status_IN_PROGRESS {
			// A new check (in hoist dev, each iteration) starts afresh.
			m.check = &task{name: "status check", detail: e.Message}
			m.check.begin(ts)
			m.resources, m.byResource = nil, map[string]*resource{}
			return
		}
		if m.check == nil {
			m.check = &task{name: "status check", start: ts}
		}
		m.check.finish(e.Status, ts, e.Error)
		m.check.detail = e.Message
		if !show {
			return
		}
		switch e.Status {
		case pb.Status_SUCCEEDED:
			m.row(m.st.ok(), "checked", e.Message, m.st.dim(m.check.took()))
		case pb.Status_FAILED:
			m.row(m.st.fail(), "not ready", e.Message, m.st.dim(m.check.took()))
			m.errorLines(e.Error, false)
		default:
			m.row(m.st.cancel(), strings.ToLower(e.Status.String()), "status check", m.st.dim(m.check.took()))
			m.errorLines(e.Error, false)
		}
		return
	}
	r := m.byResource[e.Resource]
	if r == nil {
		r = &resource{task: task{name: e.Resource}}
		r.begin(ts)
		if m.check != nil && !m.check.start.IsZero() {
			r.start = m.check.start
		}
		m.byResource[e.Resource] = r
		m.resources = append(m.resources, r)
	}
	r.detail = e.Message
	if e.Status == pb.Status_IN_PROGRESS {
		r.status = pb.Status_IN_PROGRESS
		return
	}
	r.finish(e.Status, ts, e.Error)
	if !show {
		return
	}
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.row(m.st.ok(), "ready", r.name, e.Message, m.st.dim(r.took()))
	default:
		m.row(m.st.fail(), "not ready", r.name, e.Message, m.st.dim(r.took()))
		m.errorLines(e.Error, e.Message != "")
	}
}

func (m *Model) port(e *pb.PortEvent, show bool) {
	key := forwardAddr(e)
	moved := false
	for i, p := range m.ports {
		if forwardAddr(p) == key {
			m.ports[i], moved = e, true
		}
	}
	if !moved {
		m.ports = append(m.ports, e)
	}
	if !show {
		return
	}
	verb := "forward"
	if moved {
		verb = "moved"
	}
	m.row(m.st.info("⇄"), verb, e.ResourceType+"/"+e.ResourceName, m.st.bold(key)+" → "+forwardTarget(e))
}

func (m *Model) sync(e *pb.FileSyncEvent, ts time.Time, show bool) {
	t := m.syncs[e.Image]
	if e.Status == pb.Status_IN_PROGRESS {
		t = &task{name: e.Image}
		t.begin(ts)
		t.detail = counted(int(e.FileCount), "file")
		m.syncs[e.Image] = t
		return
	}
	if t == nil {
		t = &task{name: e.Image, start: ts}
	}
	delete(m.syncs, e.Image)
	t.finish(e.Status, ts, e.Error)
	if e.Status == pb.Status_SUCCEEDED {
		m.synced.times++
		m.synced.files += int(e.FileCount)
	}
	if !show {
		return
	}
	files := counted(int(e.FileCount), "file")
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.row(m.st.ok(), "synced", files+" into "+e.Image, m.st.dim(t.took()))
	default:
		m.row(m.st.fail(), "not synced", files+" into "+e.Image, m.st.dim(t.took()))
		m.errorLines(e.Error, false)
	}
}

func (m *Model) devLoop(e *pb.DevLoopEvent, ts time.Time, show bool) {
	if e.Status == pb.Status_IN_PROGRESS {
		m.iteration = &task{name: fmt.Sprintf("iteration %d", e.Iteration)}
		m.iteration.begin(ts)
		if show {
			changed := ""
			if n := len(e.ChangedFiles); n > 0 {
				changed = "changed " + strings.Join(e.ChangedFiles[:min(n, 3)], ", ")
				if n > 3 {
					changed += fmt.Sprintf(" and %d more", n-3)
				}
			}
			m.print(m.st.dim("── " + join(m.iteration.name, changed) + " ──"))
		}
		return
	}
	if m.iteration == nil {
		m.iteration = &task{name: fmt.Sprintf("iteration %d", e.Iteration), start: ts}
	}
	m.iteration.finish(e.Status, ts, e.Error)
	if !show {
		return
	}
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.row(m.st.ok(), "done", m.iteration.name, m.st.dim(m.iteration.took()))
	default:
		m.row(m.st.fail(), strings.ToLower(e.Status.String()), m.iteration.name, m.st.dim(m.iteration.took()))
		m.errorLines(e.Error, false)
	}
}

func (m *Model) renderEvent(e *pb.RenderEvent, ts time.Time, show bool) {
	if e.Status == pb.Status_IN_PROGRESS {
		m.render = &task{name: "render"}
		m.render.begin(ts)
		return
	}
	if m.render == nil {
		m.render = &task{name: "render", start: ts}
	}
	m.render.finish(e.Status, ts, e.Error)
	if !show {
		return
	}
	if e.Status == pb.Status_SUCCEEDED {
		m.row(m.st.ok(), "rendered", strings.Join(e.Manifests, " "), m.st.dim(m.render.took()))
		return
	}
	m.row(m.st.fail(), "not rendered", strings.Join(e.Manifests, " "), m.st.dim(m.render.took()))
	m.errorLines(e.Error, false)
}

// output collects what a failed step printed, in full (from where the
// bound starts, when it printed more).
func (m *Model) output(o *output) {
	if o.dropped > 0 {
		m.print("  " + m.st.dim(fmt.Sprintf("│ … %s before these not shown: the event log file (--event-log-file) has every line", counted(o.dropped, "line"))))
	}
	for line := range bytes.Lines(o.b) {
		m.print("  " + m.st.dim("│") + " " + string(bytes.TrimSuffix(line, []byte{'\n'})))
	}
}

// errorLines collects an error's code, message and suggestions. When the
// output that led to it was shown, only the message's first line is:
// its other lines repeat the end of that output.
func (m *Model) errorLines(e *pb.Error, outputShown bool) {
	if e == nil {
		return
	}
	msg := e.Message
	if outputShown {
		msg, _, _ = strings.Cut(msg, "\n")
		msg = strings.TrimSuffix(msg, "; last output:")
	}
	for i, l := range strings.Split(msg, "\n") {
		if i == 0 {
			m.print("  " + m.st.red("error") + " " + m.st.bold(e.Code) + ": " + l)
			continue
		}
		m.print("    " + l)
	}
	for _, s := range e.Suggestions {
		m.print("  " + m.st.yellow("hint") + "  " + s)
	}
}

// summary collects the run's summary: what was built, tested, deployed,
// checked, forwarded and synced, how long each took, and how the run
// ended.
func (m *Model) summary(e *pb.TerminationEvent, ts time.Time) {
	m.print(m.st.dim("── summary " + strings.Repeat("─", 40)))
	w := m.imageWidth()
	first := true
	verb := func(v string) string {
		if first {
			first = false
			return v
		}
		return ""
	}
	for _, a := range m.artifacts {
		switch a.status {
		case pb.Status_SUCCEEDED:
			m.row(" ", verb("built"), pad(a.name, w), ref(a.result), m.st.dim(a.took()))
		case pb.Status_SKIPPED:
			m.row(" ", verb("built"), pad(a.name, w), ref(a.result), m.st.dim("cached"))
		case pb.Status_FAILED:
			m.row(" ", verb("built"), pad(a.name, w), strings.TrimSpace(m.st.red("FAILED")+" "+m.at(a.step)), m.st.dim(a.took()))
		case pb.Status_CANCELED, pb.Status_IN_PROGRESS:
			m.row(" ", verb("built"), pad(a.name, w), m.st.yellow("not built"))
		}
	}
	first = true
	for _, t := range m.tests {
		m.row(" ", verb("tested"), t.name, m.statusWord(t.status), m.st.dim(t.took()))
	}
	// Each deployer's last deploy, and last delete: hoist dev deploys
	// again each iteration, and deletes what it deployed at its end.
	for _, v := range []string{"deployed", "deleted"} {
		last := map[string]*deployment{}
		var order []string
		for _, d := range m.deploys {
			if m.verb(d) != v {
				continue
			}
			if last[d.name] == nil {
				order = append(order, d.name)
			}
			last[d.name] = d
		}
		first = true
		for _, name := range order {
			d := last[name]
			m.row(" ", verb(v), d.name, m.statusWord(d.status), actions(d.resources), m.st.dim(d.took()))
		}
	}
	if c := m.check; c != nil {
		m.row(" ", "checked", c.detail, m.statusWord(c.status), m.st.dim(c.took()))
		for _, r := range m.resources {
			if r.status != pb.Status_SUCCEEDED {
				m.row(" ", "", r.name, m.statusWord(r.status), r.detail)
			}
		}
	}
	first = true
	for _, p := range m.ports {
		m.row(" ", verb("forwarded"), p.ResourceType+"/"+p.ResourceName, forwardAddr(p)+" → "+forwardTarget(p))
	}
	if m.synced.times > 0 {
		m.row(" ", "synced", counted(m.synced.files, "file")+" in "+counted(m.synced.times, "sync"))
	}
	if m.command == "dev" && m.iteration != nil {
		n, _ := strconv.Atoi(strings.TrimPrefix(m.iteration.name, "iteration "))
		m.row(" ", "dev loop", counted(n, "iteration"))
	}
	took := ""
	if !m.started.IsZero() {
		took = " in " + duration(ts.Sub(m.started))
	}
	name := "hoist " + m.command
	switch e.Status {
	case pb.Status_SUCCEEDED:
		m.print(m.st.ok() + " " + m.st.bold(name) + " " + m.st.green("SUCCEEDED") + took)
	default:
		icon, word := m.st.fail(), m.st.red(e.Status.String())
		if e.Status == pb.Status_CANCELED {
			icon, word = m.st.cancel(), m.st.yellow(e.Status.String())
		}
		// The message is above, where it happened, and hoist repeats it on
		// stderr as it exits.
		reason := ""
		if e.Error != nil {
			reason = fmt.Sprintf(": %s, exit code %d", m.st.bold(e.Error.Code), fault.ExitOf(fault.Code(e.Error.Code)))
		}
		m.print(icon + " " + m.st.bold(name) + " " + word + took + reason)
	}
}

func (m *Model) statusWord(s pb.Status) string {
	switch s {
	case pb.Status_SUCCEEDED:
		return ""
	case pb.Status_FAILED:
		return m.st.red("FAILED")
	case pb.Status_IN_PROGRESS:
		return m.st.yellow("unfinished")
	}
	return m.st.yellow(s.String())
}

// imageWidth is the width of the image column: the longest image name.
func (m *Model) imageWidth() int {
	w := 0
	for _, a := range m.artifacts {
		w = max(w, len(a.name))
	}
	return min(w, 30)
}

// Live returns the lines of what is in progress at now: each artifact
// building (its step and elapsed time) or waiting for its turn, the tests,
// deploys, resources and syncs under way, and in hoist dev, once idle, that
// it watches.
func (m *Model) Live(now time.Time) []string {
	if m.ended {
		return nil
	}
	spin := m.st.info(spinner(now))
	var lines []string
	building := false
	for _, a := range m.artifacts {
		if a.status == pb.Status_IN_PROGRESS {
			building = true
		}
	}
	w := m.imageWidth()
	for _, a := range m.artifacts {
		switch {
		case a.status == pb.Status_IN_PROGRESS:
			step := "building"
			instr := ""
			if a.step != nil {
				step = fmt.Sprintf("step %d/%d", a.step.Index, a.step.Total)
				instr = ansi.Truncate(a.step.Instruction, maxInstruction, "…")
			}
			last := ""
			if a.last != "" && (a.step == nil || a.last != firstLine(a.out.b)) {
				last = m.st.dim("› " + a.last)
			}
			lines = append(lines, m.rowText(spin, step, pad(a.name, w), m.st.dim(elapsed(now, a.start)), instr, last))
		case building && a.status == pb.Status_STATUS_UNSPECIFIED:
			lines = append(lines, m.rowText(m.st.dim("·"), "waiting", a.name))
		}
	}
	for _, t := range m.tests {
		if t.status == pb.Status_IN_PROGRESS {
			lines = append(lines, m.rowText(spin, "testing", t.name, m.st.dim(elapsed(now, t.start)), m.st.dim(last(t.last))))
		}
	}
	for _, d := range m.deploys {
		if d.status == pb.Status_IN_PROGRESS {
			verb := "deploying"
			if m.verb(d) == "deleted" {
				verb = "deleting"
			}
			lines = append(lines, m.rowText(spin, verb, d.name, m.st.dim(elapsed(now, d.start)), counted(len(d.resources), "object")))
		}
	}
	if c := m.check; c != nil && c.status == pb.Status_IN_PROGRESS {
		waiting := 0
		for _, r := range m.resources {
			if r.status == pb.Status_IN_PROGRESS {
				waiting++
				lines = append(lines, m.rowText(spin, "waiting", r.name, m.st.dim(elapsed(now, r.start)), r.detail))
			}
		}
		if waiting == 0 {
			lines = append(lines, m.rowText(spin, "checking", c.detail, m.st.dim(elapsed(now, c.start))))
		}
	}
	for _, a := range m.artifacts {
		if t := m.syncs[a.name]; t != nil {
			lines = append(lines, m.rowText(spin, "syncing", t.detail+" into "+t.name, m.st.dim(elapsed(now, t.start))))
		}
	}
	if r := m.render; r != nil && r.status == pb.Status_IN_PROGRESS {
		lines = append(lines, m.rowText(spin, "rendering", m.st.dim(elapsed(now, r.start))))
	}
	if len(lines) == 0 && m.command == "dev" && m.iteration != nil && m.iteration.status != pb.Status_IN_PROGRESS {
		lines = append(lines, m.rowText(m.st.dim("◦"), "watching", "for changes", m.st.dim("Ctrl-C to stop")))
	}
	return lines
}

func (t *task) begin(ts time.Time) {
	t.status, t.start, t.end, t.err, t.last, t.detail = pb.Status_IN_PROGRESS, ts, time.Time{}, nil, "", ""
	t.out.reset()
}

func (t *task) finish(s pb.Status, ts time.Time, err *pb.Error) {
	t.status, t.end, t.err = s, ts, err
	if t.start.IsZero() {
		t.start = ts
	}
}

// took is how long the task took.
func (t *task) took() string {
	if t.start.IsZero() || t.end.IsZero() {
		return ""
	}
	return duration(t.end.Sub(t.start))
}

// output is what a step printed: its lines, each ending in a newline,
// at most maxOutput bytes of them, the oldest dropped first.
type output struct {
	b       []byte
	dropped int
}

func (o *output) reset() {
	o.b, o.dropped = o.b[:0], 0
}

func (o *output) add(line string) {
	line = line[:min(len(line), maxOutput/2)]
	if len(o.b)+len(line)+1 > maxOutput {
		// Drop the older half, whole lines.
		cut := len(o.b) / 2
		if i := bytes.IndexByte(o.b[cut:], '\n'); i >= 0 {
			cut += i + 1
		} else {
			cut = len(o.b)
		}
		o.dropped += bytes.Count(o.b[:cut], []byte{'\n'})
		o.b = o.b[:copy(o.b, o.b[cut:])]
	}
	o.b = append(append(o.b, line...), '\n')
}

func (o *output) lines() int { return o.dropped + bytes.Count(o.b, []byte{'\n'}) }

func firstLine(b []byte) string {
	l, _, _ := bytes.Cut(b, []byte{'\n'})
	return string(l)
}

// ref is tag@digest.
func ref(a *pb.Artifact) string {
	switch {
	case a == nil:
		return ""
	case a.Digest == "":
		return a.Tag
	}
	return a.Tag + "@" + a.Digest
}

// objectName is Kind/namespace/name, as the status check names the
// objects it watches.
func objectName(r *pb.Resource) string {
	name := r.Kind + "/"
	if r.Namespace != "" {
		name += r.Namespace + "/"
	}
	return name + r.Name
}

// actions counts a deploy's objects by action: "2 objects: 1 created, 1
// configured".
func actions(rs []*pb.Resource) string {
	if len(rs) == 0 {
		return ""
	}
	n := map[string]int{}
	var order []string
	for _, r := range rs {
		if n[r.Action] == 0 {
			order = append(order, r.Action)
		}
		n[r.Action]++
	}
	parts := make([]string, len(order))
	for i, a := range order {
		parts[i] = fmt.Sprintf("%d %s", n[a], a)
	}
	return counted(len(rs), "object") + ": " + strings.Join(parts, ", ")
}

func forwardAddr(p *pb.PortEvent) string {
	return net.JoinHostPort(p.Address, strconv.FormatUint(uint64(p.LocalPort), 10))
}

func forwardTarget(p *pb.PortEvent) string {
	to := fmt.Sprintf("%s/%s:%d", p.Namespace, p.Pod, p.RemotePort)
	if p.Namespace == "" {
		to = fmt.Sprintf("%s:%d", p.Pod, p.RemotePort)
	}
	return to
}

func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func last(s string) string {
	if s == "" {
		return ""
	}
	return "› " + s
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + " · " + b
}

// pad pads s with spaces to width columns.
func pad(s string, width int) string {
	if n := width - len([]rune(s)); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// duration is d for a person: 0.4s, 12.3s, 2m05s, 1h02m.
func duration(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func elapsed(now, start time.Time) string {
	if start.IsZero() {
		return ""
	}
	return duration(now.Sub(start))
}

// spinnerFrames turn ten times a second.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func spinner(now time.Time) string {
	return spinnerFrames[now.UnixMilli()/100%int64(len(spinnerFrames))]
}
