package skaffoldapi

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/event"
)

// The golden files under testdata hold the events Skaffold sends for
// skaffold dev with a port forward, a sync and an Execute-triggered
// rebuild, taken from Skaffold's code and integration tests (see
// testdata/README.md); hoist_dev.jsonl is hoist's event log of the same
// scenario, recorded on the test environment. The translations of the
// recording must be that sequence: the same event types, task ids,
// subtask ids, steps and statuses, in the same order.

// describeV2 prints a v2 event as the golden file lists it.
func describeV2(ev *skaffoldv2.Event) string {
	switch e := ev.EventType.(type) {
	case *skaffoldv2.Event_MetaEvent:
		return "metaEvent"
	case *skaffoldv2.Event_TaskEvent:
		return fmt.Sprintf("taskEvent %s %s", e.TaskEvent.Id, e.TaskEvent.Status)
	case *skaffoldv2.Event_BuildSubtaskEvent:
		b := e.BuildSubtaskEvent
		return fmt.Sprintf("buildSubtaskEvent %s %s %s %s", b.TaskId, b.Artifact, b.Step, b.Status)
	case *skaffoldv2.Event_SkaffoldLogEvent:
		return fmt.Sprintf("skaffoldLogEvent %s %s", e.SkaffoldLogEvent.TaskId, e.SkaffoldLogEvent.SubtaskId)
	case *skaffoldv2.Event_RenderEvent:
		return fmt.Sprintf("renderEvent %s %s %s", e.RenderEvent.TaskId, e.RenderEvent.Id, e.RenderEvent.Status)
	case *skaffoldv2.Event_TestEvent:
		return fmt.Sprintf("testEvent %s %s %s", e.TestEvent.TaskId, e.TestEvent.Id, e.TestEvent.Status)
	case *skaffoldv2.Event_DeploySubtaskEvent:
		return fmt.Sprintf("deploySubtaskEvent %s %s %s", e.DeploySubtaskEvent.TaskId, e.DeploySubtaskEvent.Id, e.DeploySubtaskEvent.Status)
	case *skaffoldv2.Event_StatusCheckSubtaskEvent:
		s := e.StatusCheckSubtaskEvent
		return fmt.Sprintf("statusCheckSubtaskEvent %s %s %s", s.TaskId, s.Resource, s.Status)
	case *skaffoldv2.Event_PortEvent:
		return fmt.Sprintf("portEvent %s %s/%s", e.PortEvent.TaskId, e.PortEvent.ResourceType, e.PortEvent.ResourceName)
	case *skaffoldv2.Event_FileSyncEvent:
		return fmt.Sprintf("fileSyncEvent %s %s", e.FileSyncEvent.TaskId, e.FileSyncEvent.Status)
	case *skaffoldv2.Event_ApplicationLogEvent:
		return "applicationLogEvent"
	case *skaffoldv2.Event_TerminationEvent:
		return "terminationEvent " + e.TerminationEvent.Status
	}
	return fmt.Sprintf("%T", ev.EventType)
}

// describeV1 prints a v1 event as the golden file lists it.
func describeV1(ev *skaffoldv1.Event) string {
	switch e := ev.EventType.(type) {
	case *skaffoldv1.Event_MetaEvent:
		return "metaEvent"
	case *skaffoldv1.Event_DevLoopEvent:
		return fmt.Sprintf("devLoopEvent %d %s", e.DevLoopEvent.Iteration, e.DevLoopEvent.Status)
	case *skaffoldv1.Event_BuildEvent:
		return fmt.Sprintf("buildEvent %s %s", e.BuildEvent.Artifact, e.BuildEvent.Status)
	case *skaffoldv1.Event_TestEvent:
		return "testEvent " + e.TestEvent.Status
	case *skaffoldv1.Event_DeployEvent:
		return "deployEvent " + e.DeployEvent.Status
	case *skaffoldv1.Event_StatusCheckEvent:
		return "statusCheckEvent " + e.StatusCheckEvent.Status
	case *skaffoldv1.Event_ResourceStatusCheckEvent:
		return fmt.Sprintf("resourceStatusCheckEvent %s %s", e.ResourceStatusCheckEvent.Resource, e.ResourceStatusCheckEvent.Status)
	case *skaffoldv1.Event_PortEvent:
		return fmt.Sprintf("portEvent %s/%s", e.PortEvent.ResourceType, e.PortEvent.ResourceName)
	case *skaffoldv1.Event_FileSyncEvent:
		return "fileSyncEvent " + e.FileSyncEvent.Status
	case *skaffoldv1.Event_TerminationEvent:
		return "terminationEvent " + e.TerminationEvent.Status
	}
	return fmt.Sprintf("%T", ev.EventType)
}

// pattern is a golden file: lines, each of which matches a number of
// events, or groups of them.
type pattern struct {
	line     string // "" for a group
	group    []*pattern
	min, max int // max < 0: no limit
	at       int // the line of the file
}

// parsePattern reads a golden file, with ns as the namespace NS stands
// for.
func parsePattern(t *testing.T, file, ns string) []*pattern {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	stack := [][]*pattern{nil}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		min, max := 1, 1
		fields := strings.Fields(line)
		switch fields[len(fields)-1] {
		case "*":
			min, max = 0, -1
		case "+":
			min, max = 1, -1
		case "?":
			min, max = 0, 1
		}
		if min != 1 || max != 1 {
			fields = fields[:len(fields)-1]
		}
		line = strings.ReplaceAll(strings.Join(fields, " "), "NS:", ns+":")
		switch {
		case line == "{":
			stack = append(stack, nil)
		case line == "}":
			if len(stack) < 2 {
				t.Fatalf("%s:%d: } without {", file, n)
			}
			g := &pattern{group: stack[len(stack)-1], min: min, max: max, at: n}
			stack = stack[:len(stack)-1]
			stack[len(stack)-1] = append(stack[len(stack)-1], g)
		default:
			stack[len(stack)-1] = append(stack[len(stack)-1], &pattern{line: line, min: min, max: max, at: n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stack) != 1 {
		t.Fatalf("%s: { without }", file)
	}
	return stack[0]
}

// match tells whether ps match all of got, and otherwise how far the
// longest attempt got.
func match(ps []*pattern, got []string) (ok bool, furthest int) {
	m := matcher{got: got}
	ok = m.seq(ps, 0, func(j int) bool { return j == len(got) })
	return ok, m.furthest
}

type matcher struct {
	got      []string
	furthest int
}

// seq matches ps from got[i], calling k with where they end, until k
// accepts.
func (m *matcher) seq(ps []*pattern, i int, k func(int) bool) bool {
	m.furthest = max(m.furthest, i)
	if len(ps) == 0 {
		return k(i)
	}
	return m.repeat(ps[0], 0, i, func(j int) bool { return m.seq(ps[1:], j, k) })
}

// repeat matches p, already matched count times, from got[i]: as many more
// times as it may (greedily), then fewer.
func (m *matcher) repeat(p *pattern, count, i int, k func(int) bool) bool {
	if p.max < 0 || count < p.max {
		more := func(j int) bool {
			return j > i && m.repeat(p, count+1, j, k)
		}
		if m.once(p, i, more) {
			return true
		}
	}
	return count >= p.min && k(i)
}

// once matches one occurrence of p from got[i].
func (m *matcher) once(p *pattern, i int, k func(int) bool) bool {
	if p.group != nil {
		return m.seq(p.group, i, k)
	}
	if i < len(m.got) && m.got[i] == p.line {
		m.furthest = max(m.furthest, i+1)
		return k(i + 1)
	}
	return false
}

// recording reads hoist's event log of the scenario.
func recording(t *testing.T) []*pb.Envelope {
	t.Helper()
	data, err := os.ReadFile("testdata/hoist_dev.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []*pb.Envelope
	for line := range strings.Lines(string(data)) {
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatalf("testdata/hoist_dev.jsonl: %v", err)
		}
		out = append(out, env)
	}
	return out
}

// namespaceOf is the namespace the recorded run deployed to.
func namespaceOf(t *testing.T, envs []*pb.Envelope) string {
	t.Helper()
	for _, env := range envs {
		for _, r := range env.GetEvent().GetDeployEvent().GetResources() {
			if r.Namespace != "" {
				return r.Namespace
			}
		}
	}
	t.Fatal("the recording deploys to no namespace")
	return ""
}

// report prints what was matched and where the match failed.
func report(t *testing.T, file string, got []string, furthest int) {
	t.Helper()
	var b strings.Builder
	for i, g := range got {
		mark := "  "
		if i == furthest {
			mark = "> "
		}
		b.WriteString(mark + strconv.Itoa(i+1) + " " + g + "\n")
	}
	t.Errorf("the translation is not the sequence of %s: it fails at the event marked >\n%s", file, b.String())
}

// The one difference of order the golden test allows: hoist establishes
// its port forwards once a deploy is done, on their own, and keeps them
// for the whole run, so the first portEvent of a run comes just after the
// dev loop iteration that deployed what it forwards has ended, where
// Skaffold forwards before it ends that iteration. (A forward that moves
// to a new pod during a later deploy is reported once the deploy ends, by
// the translation itself.) lateForwardsV2 and lateForwardsV1 move such a
// port forward, and only one that directly follows the end of its
// iteration, back before that end.

func lateForwardsV2(got []string) []string {
	out := slices.Clone(got)
	for i := 0; i+4 < len(out); i++ {
		n, ok := strings.CutPrefix(out[i], "taskEvent DevLoop-")
		if !ok || !strings.HasSuffix(n, " Succeeded") || out[i+1] != "taskEvent PortForward-"+strings.TrimSuffix(n, " Succeeded")+" InProgress" {
			continue
		}
		end := slices.Index(out[i+1:], "taskEvent PortForward-"+strings.TrimSuffix(n, " Succeeded")+" Succeeded")
		if end < 0 {
			continue
		}
		block := slices.Clone(out[i+1 : i+2+end])
		devLoopEnd := out[i]
		copy(out[i:], block)
		out[i+len(block)] = devLoopEnd
		i += len(block)
	}
	return out
}

func lateForwardsV1(got []string) []string {
	out := slices.Clone(got)
	for i := 0; i+1 < len(out); i++ {
		if strings.HasPrefix(out[i], "devLoopEvent ") && strings.HasSuffix(out[i], " Succeeded") && strings.HasPrefix(out[i+1], "portEvent ") {
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	return out
}

// hoistOnlyV2 are the v2 events hoist sends and Skaffold does not, for
// this scenario: the fileSyncEvents that Skaffold declares but sends on v1
// only; the application logs, which Skaffold serves on ApplicationLogs,
// not Events; the output of deleting what hoist dev deployed (Skaffold
// prints it but its session has ended its events); and the
// terminationEvent that ends every hoist run.
func hoistOnlyV2(ev *skaffoldv2.Event) bool {
	switch ev.EventType.(type) {
	case *skaffoldv2.Event_FileSyncEvent, *skaffoldv2.Event_ApplicationLogEvent, *skaffoldv2.Event_TerminationEvent:
		return true
	}
	return strings.HasPrefix(ev.GetSkaffoldLogEvent().GetTaskId(), "Cleanup-")
}

func TestGoldenSequenceV2(t *testing.T) {
	envs := recording(t)
	ps := parsePattern(t, "testdata/skaffold_dev_v2.golden", namespaceOf(t, envs))
	tr := NewV2(options)
	var got []string
	for _, env := range envs {
		for _, ev := range tr.Translate(env) {
			if !hoistOnlyV2(ev) {
				got = append(got, describeV2(ev))
			}
		}
	}
	got = lateForwardsV2(got)
	if ok, furthest := match(ps, got); !ok {
		report(t, "testdata/skaffold_dev_v2.golden", got, furthest)
	}
	if ports := tr.State().ForwardedPorts; len(ports) != 1 {
		t.Errorf("GetState has %d forwarded ports, want the example's one: %v", len(ports), ports)
	}
}

func TestGoldenSequenceV1(t *testing.T) {
	envs := recording(t)
	ps := parsePattern(t, "testdata/skaffold_dev_v1.golden", namespaceOf(t, envs))
	tr := NewV1(options)
	var got []string
	for _, env := range envs {
		for _, ev := range tr.Translate(env) {
			if ev.GetTerminationEvent() == nil {
				got = append(got, describeV1(ev))
			}
		}
	}
	got = lateForwardsV1(got)
	if ok, furthest := match(ps, got); !ok {
		report(t, "testdata/skaffold_dev_v1.golden", got, furthest)
	}
	if ports := tr.State().ForwardedPorts; len(ports) != 1 {
		t.Errorf("GetState has %d forwarded ports, want the example's one: %v", len(ports), ports)
	}
}

// TestLateForwards checks that only a port forward that directly follows
// the end of its own iteration is moved.
func TestLateForwards(t *testing.T) {
	v2 := []string{"taskEvent DevLoop-1 Succeeded", "taskEvent PortForward-1 InProgress", "skaffoldLogEvent PortForward-1 service/a",
		"portEvent PortForward-1 service/a", "taskEvent PortForward-1 Succeeded", "taskEvent DevLoop-2 InProgress"}
	want := []string{"taskEvent PortForward-1 InProgress", "skaffoldLogEvent PortForward-1 service/a",
		"portEvent PortForward-1 service/a", "taskEvent PortForward-1 Succeeded", "taskEvent DevLoop-1 Succeeded", "taskEvent DevLoop-2 InProgress"}
	if diff := cmp.Diff(want, lateForwardsV2(v2)); diff != "" {
		t.Errorf("lateForwardsV2 (-want +got):\n%s", diff)
	}
	other := []string{"taskEvent DevLoop-1 Succeeded", "taskEvent DevLoop-2 InProgress", "taskEvent PortForward-2 InProgress",
		"portEvent PortForward-2 service/a", "taskEvent PortForward-2 Succeeded"}
	if diff := cmp.Diff(other, lateForwardsV2(other)); diff != "" {
		t.Errorf("lateForwardsV2 moved a forward of another iteration (-want +got):\n%s", diff)
	}
	v1 := []string{"devLoopEvent 0 Succeeded", "portEvent service/a", "devLoopEvent 1 In Progress", "portEvent service/a"}
	if diff := cmp.Diff([]string{"portEvent service/a", "devLoopEvent 0 Succeeded", "devLoopEvent 1 In Progress", "portEvent service/a"}, lateForwardsV1(v1)); diff != "" {
		t.Errorf("lateForwardsV1 (-want +got):\n%s", diff)
	}
}

// TestMatch checks the matcher of the golden files itself.
func TestMatch(t *testing.T) {
	ps := func(lines ...string) []*pattern {
		dir := t.TempDir()
		file := dir + "/p.golden"
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return parsePattern(t, file, "ns")
	}
	tests := []struct {
		name    string
		pattern []*pattern
		got     []string
		want    bool
	}{
		{"exact", ps("a", "b"), []string{"a", "b"}, true},
		{"missing", ps("a", "b"), []string{"a"}, false},
		{"extra", ps("a"), []string{"a", "a"}, false},
		{"zero or more, none", ps("a", "l *", "b"), []string{"a", "b"}, true},
		{"zero or more, several", ps("a", "l *", "b"), []string{"a", "l", "l", "b"}, true},
		{"one or more, none", ps("a", "l +", "b"), []string{"a", "b"}, false},
		{"optional, two", ps("a ?"), []string{"a", "a"}, false},
		{"group repeated", ps("{", "p", "l", "} *", "s"), []string{"p", "l", "p", "l", "s"}, true},
		{"group cut short", ps("{", "p", "l", "} *", "s"), []string{"p", "p", "l", "s"}, false},
		{"backtracks", ps("l *", "l", "x"), []string{"l", "l", "x"}, true},
		{"namespace", ps("r NS:deployment/app # a comment"), []string{"r ns:deployment/app"}, true},
		{"order", ps("a", "b"), []string{"b", "a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, _ := match(tt.pattern, tt.got); ok != tt.want {
				t.Errorf("match = %v, want %v", ok, tt.want)
			}
		})
	}
}
