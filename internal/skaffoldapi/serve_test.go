package skaffoldapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	"github.com/hoist-dev/hoist/api/skaffold/v1/skaffoldv1connect"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/api/skaffold/v2/skaffoldv2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/skaffoldapi"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// fakeV1 and fakeV2 stand for the translators, which have tests of their
// own: each build output line becomes one event naming it, so that a
// test can tell which events a stream got and in what order.
type fakeV1 struct{ n int }

func (f *fakeV1) Translate(env *pb.Envelope) []*skaffoldv1.Event {
	f.n++
	switch p := env.Event.Payload.(type) {
	case *pb.Event_BuildEvent:
		return []*skaffoldv1.Event{{EventType: &skaffoldv1.Event_BuildEvent{BuildEvent: &skaffoldv1.BuildEvent{
			Artifact: p.BuildEvent.Log, Status: "In Progress"}}}}
	case *pb.Event_TerminationEvent:
		return []*skaffoldv1.Event{{EventType: &skaffoldv1.Event_TerminationEvent{TerminationEvent: &skaffoldv1.TerminationEvent{Status: "Completed"}}}}
	}
	return nil
}

func (f *fakeV1) State() *skaffoldv1.State {
	return &skaffoldv1.State{BuildState: &skaffoldv1.BuildState{Artifacts: map[string]string{"events": fmt.Sprint(f.n)}}}
}

type fakeV2 struct{ n int }

func (f *fakeV2) Translate(env *pb.Envelope) []*skaffoldv2.Event {
	f.n++
	ts := env.Event.Timestamp
	switch p := env.Event.Payload.(type) {
	case *pb.Event_BuildEvent:
		return []*skaffoldv2.Event{{Timestamp: ts, EventType: &skaffoldv2.Event_SkaffoldLogEvent{SkaffoldLogEvent: &skaffoldv2.SkaffoldLogEvent{
			TaskId: "Build-0", SubtaskId: p.BuildEvent.Image, Message: p.BuildEvent.Log}}}}
	case *pb.Event_ApplicationLogEvent:
		return []*skaffoldv2.Event{{Timestamp: ts, EventType: &skaffoldv2.Event_ApplicationLogEvent{ApplicationLogEvent: &skaffoldv2.ApplicationLogEvent{
			PodName: p.ApplicationLogEvent.Pod, Message: p.ApplicationLogEvent.Message}}}}
	case *pb.Event_TerminationEvent:
		return []*skaffoldv2.Event{{Timestamp: ts, EventType: &skaffoldv2.Event_TerminationEvent{TerminationEvent: &skaffoldv2.TerminationEvent{Status: "Completed"}}}}
	case *pb.Event_DeployEvent:
		// An application log, then an event of Events: each stream
		// leaves out the other's.
		return []*skaffoldv2.Event{
			{Timestamp: ts, EventType: &skaffoldv2.Event_ApplicationLogEvent{ApplicationLogEvent: &skaffoldv2.ApplicationLogEvent{Message: "deploying"}}},
			{Timestamp: ts, EventType: &skaffoldv2.Event_SkaffoldLogEvent{SkaffoldLogEvent: &skaffoldv2.SkaffoldLogEvent{Message: "deploying"}}},
		}
	}
	return nil
}

func (f *fakeV2) State() *skaffoldv2.State {
	return &skaffoldv2.State{BuildState: &skaffoldv2.BuildState{Artifacts: map[string]string{"events": fmt.Sprint(f.n)}}}
}

// fixture is a run's bus with its Event API, Skaffold's API beside it and
// Skaffold's HTTP gateway, each on a loopback port.
type fixture struct {
	bus     *event.Bus
	api     *rpc.Server
	srv     *skaffoldapi.Server
	url, gw string
	hc      *http.Client
}

func newFixture(t *testing.T, dev bool, opts ...event.Option) *fixture {
	t.Helper()
	bus := testutil.NewBus(t, opts...)
	api := &rpc.Server{Bus: bus, State: state.New()}
	srv := skaffoldapi.NewServer(skaffoldapi.ServerOptions{
		API:   api,
		NewV1: func() skaffoldapi.Translator[*skaffoldv1.Event, *skaffoldv1.State] { return &fakeV1{} },
		NewV2: func() skaffoldapi.Translator[*skaffoldv2.Event, *skaffoldv2.State] { return &fakeV2{} },
		Dev:   dev,
	})
	t.Cleanup(srv.Close)
	api.Services = []rpc.Service{srv}
	f := &fixture{bus: bus, api: api, srv: srv}
	f.url = testutil.Serve(t, rpc.NewHTTPServer(api.Handler()))
	f.gw = testutil.Serve(t, rpc.NewHTTPServer(srv.Gateway()))
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: f.url})
	if err != nil {
		t.Fatal(err)
	}
	f.hc = hc
	return f
}

func (f *fixture) v1(opts ...connect.ClientOption) skaffoldv1connect.SkaffoldServiceClient {
	return skaffoldv1connect.NewSkaffoldServiceClient(f.hc, f.url, append([]connect.ClientOption{connect.WithGRPC()}, opts...)...)
}

func (f *fixture) v2(opts ...connect.ClientOption) skaffoldv2connect.SkaffoldV2ServiceClient {
	return skaffoldv2connect.NewSkaffoldV2ServiceClient(f.hc, f.url, append([]connect.ClientOption{connect.WithGRPC()}, opts...)...)
}

func publishLines(bus *event.Bus, from, to int) {
	for i := from; i < to; i++ {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d", i)))
	}
}

func lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

// v2Name names a v2 event for comparisons: its log line, or its type.
func v2Name(ev *skaffoldv2.Event) string {
	switch {
	case ev.GetSkaffoldLogEvent() != nil:
		return ev.GetSkaffoldLogEvent().GetMessage()
	case ev.GetApplicationLogEvent() != nil:
		return "app: " + ev.GetApplicationLogEvent().GetMessage()
	case ev.GetTerminationEvent() != nil:
		return "termination"
	case ev.GetSkaffoldLogEvent() == nil && ev.GetMetaEvent() != nil:
		return "meta"
	}
	return fmt.Sprintf("%T", ev.GetEventType())
}

func v1Name(e *skaffoldv1.LogEntry) string {
	switch {
	case e.GetEvent().GetBuildEvent() != nil:
		return e.GetEvent().GetBuildEvent().GetArtifact()
	case e.GetEvent().GetTerminationEvent() != nil:
		return "termination"
	}
	return fmt.Sprintf("%T", e.GetEvent().GetEventType())
}

// gatewayLines reads a stream of the gateway to its end: the lines, each
// decoded as {"result": ...} or {"error": ...}.
func gatewayLines(t *testing.T, url string) (results []json.RawMessage, errs []string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if line.Error != nil {
			errs = append(errs, string(line.Error))
			continue
		}
		results = append(results, line.Result)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return results, errs
}

// Every stream, whichever API, protocol and transport, sends the run's
// history, then its live events, through the terminationEvent.
func TestStreamsSendHistoryThenLive(t *testing.T) {
	v2Stream := func(t *testing.T, f *fixture, call func(context.Context, *connect.Request[emptypb.Empty]) (*connect.ServerStreamForClient[skaffoldv2.Event], error)) func() []string {
		stream, err := call(t.Context(), connect.NewRequest(&emptypb.Empty{}))
		if err != nil {
			t.Fatal(err)
		}
		return func() []string {
			var got []string
			for stream.Receive() {
				got = append(got, v2Name(stream.Msg()))
			}
			if err := stream.Err(); err != nil {
				t.Errorf("stream ended with %v", err)
			}
			return got
		}
	}
	gateway := func(t *testing.T, url string, name func(json.RawMessage) string) func() []string {
		ch := make(chan []string, 1)
		go func() {
			res, errs := gatewayLines(t, url)
			if len(errs) > 0 {
				t.Errorf("errors in the stream: %v", errs)
			}
			var got []string
			for _, r := range res {
				got = append(got, name(r))
			}
			ch <- got
		}()
		return func() []string { return <-ch }
	}
	gwV2Name := func(r json.RawMessage) string {
		var ev skaffoldv2.Event
		if err := protojson.Unmarshal(r, &ev); err != nil {
			return "undecodable: " + string(r)
		}
		return v2Name(&ev)
	}
	gwV1Name := func(r json.RawMessage) string {
		var e skaffoldv1.LogEntry
		if err := protojson.Unmarshal(r, &e); err != nil {
			return "undecodable: " + string(r)
		}
		return v1Name(&e)
	}
	want := append(lines(0, 300), "termination")
	for _, tc := range []struct {
		name string
		open func(t *testing.T, f *fixture) func() []string
	}{
		{"v2 Events over gRPC", func(t *testing.T, f *fixture) func() []string { return v2Stream(t, f, f.v2().Events) }},
		{"v2 Events over gRPC-Web", func(t *testing.T, f *fixture) func() []string {
			return v2Stream(t, f, f.v2(connect.WithGRPCWeb()).Events)
		}},
		{"v2 Events over Connect's JSON", func(t *testing.T, f *fixture) func() []string {
			c := skaffoldv2connect.NewSkaffoldV2ServiceClient(f.hc, f.url, connect.WithProtoJSON())
			return v2Stream(t, f, c.Events)
		}},
		{"v1 Events over gRPC", func(t *testing.T, f *fixture) func() []string {
			stream, err := f.v1().Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
			if err != nil {
				t.Fatal(err)
			}
			return func() []string {
				var got []string
				for stream.Receive() {
					got = append(got, v1Name(stream.Msg()))
				}
				if err := stream.Err(); err != nil {
					t.Errorf("stream ended with %v", err)
				}
				return got
			}
		}},
		{"GET /v2/events", func(t *testing.T, f *fixture) func() []string { return gateway(t, f.gw+"/v2/events", gwV2Name) }},
		{"GET /v1/events", func(t *testing.T, f *fixture) func() []string { return gateway(t, f.gw+"/v1/events", gwV1Name) }},
		{"GET /v1/event_log", func(t *testing.T, f *fixture) func() []string { return gateway(t, f.gw+"/v1/event_log", gwV1Name) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false)
			publishLines(f.bus, 0, 150)
			got := tc.open(t, f)
			publishLines(f.bus, 150, 300)
			testutil.Terminate(f.bus)
			if diff := cmp.Diff(want, got()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// A stream that starts after the memory ring has been overwritten reads
// the history back from disk, and one that falls behind a whole ring is
// not dropped: Skaffold's clients cannot resume.
func TestStreamsNeverDrop(t *testing.T) {
	f := newFixture(t, false, event.WithMemory(1024))
	publishLines(f.bus, 0, 5000)
	stream, err := f.v2().Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	publishLines(f.bus, 5000, 20000)
	testutil.Terminate(f.bus)
	n := 0
	for stream.Receive() {
		if got, want := v2Name(stream.Msg()), fmt.Sprintf("line %d", n); n < 20000 && got != want {
			t.Fatalf("event %d is %q, want %q", n, got, want)
		}
		n++
	}
	if err := stream.Err(); err != nil || n != 20001 {
		t.Fatalf("got %d events and %v, want 20001 and no error", n, err)
	}
}

// v2's Events leaves out the application logs, which ApplicationLogs
// streams alone.
func TestApplicationLogsApart(t *testing.T) {
	f := newFixture(t, false)
	appLog := func(msg string) {
		f.bus.Publish(&pb.Event{Payload: &pb.Event_ApplicationLogEvent{ApplicationLogEvent: &pb.ApplicationLogEvent{Pod: "web-1", Message: msg}}})
	}
	publishLines(f.bus, 0, 2)
	appLog("hello")
	publishLines(f.bus, 2, 3)
	appLog("bye")
	testutil.Terminate(f.bus)
	for _, tc := range []struct {
		name string
		call func(context.Context, *connect.Request[emptypb.Empty]) (*connect.ServerStreamForClient[skaffoldv2.Event], error)
		want []string
	}{
		{"Events", f.v2().Events, []string{"line 0", "line 1", "line 2", "termination"}},
		{"ApplicationLogs", f.v2().ApplicationLogs, []string{"app: hello", "app: bye"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := tc.call(t.Context(), connect.NewRequest(&emptypb.Empty{}))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for stream.Receive() {
				got = append(got, v2Name(stream.Msg()))
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
	res, errs := gatewayLines(t, f.gw+"/v2/applicationLogs")
	if len(res) != 2 || len(errs) != 0 {
		t.Errorf("GET /v2/applicationLogs: %d results, errors %v; want 2 and none", len(res), errs)
	}
}

// A stream that has caught up sends what it has at once, even when the
// last event translated is one it leaves out.
func TestStreamsFlushWhenCaughtUp(t *testing.T) {
	f := newFixture(t, false)
	for _, path := range []string{"/v2/applicationLogs", "/v2/events"} {
		t.Run(path, func(t *testing.T) {
			resp, err := http.Get(f.gw + path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			got := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(resp.Body)
				if sc.Scan() {
					got <- sc.Text()
				}
			}()
			f.bus.Publish(&pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Status: pb.Status_IN_PROGRESS}}})
			select {
			case line := <-got:
				if !strings.Contains(line, `"message":"deploying`) {
					t.Errorf("got %s", line)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the event was not sent while the run went on")
			}
		})
	}
}

// The gateway writes grpc-gateway's lines: proto field names, the fields
// left empty too, each event wrapped in "result".
func TestGatewayJSON(t *testing.T) {
	f := newFixture(t, false)
	f.bus.Publish(testutil.LogEvent("app", "hello"))
	testutil.Terminate(f.bus)
	resp, err := http.Get(f.gw + "/v2/events")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	first, _, _ := strings.Cut(string(body), "\n")
	var ts struct {
		Result struct {
			Timestamp string `json:"timestamp"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(first), &ts); err != nil {
		t.Fatal(err)
	}
	want := `{"result":{"timestamp":"` + ts.Result.Timestamp + `","skaffoldLogEvent":{"task_id":"Build-0","subtask_id":"app","level":"DEBUG","message":"hello"}}}`
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first line (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(string(body), "\n") || strings.Count(string(body), "\n") != 2 {
		t.Errorf("body %q: want two lines", body)
	}
}

// An event given to Handle reaches a stream waiting for the next event at
// once, and comes at the same place in a stream that starts later.
func TestHandle(t *testing.T) {
	f := newFixture(t, false)
	publishLines(f.bus, 0, 2)
	early, err := f.v2().Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if !early.Receive() {
			t.Fatal(early.Err())
		}
	}
	handled := &skaffoldv2.Event{EventType: &skaffoldv2.Event_SkaffoldLogEvent{SkaffoldLogEvent: &skaffoldv2.SkaffoldLogEvent{Message: "handled"}}}
	if _, err := f.v2().Handle(t.Context(), connect.NewRequest(handled)); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		if early.Receive() {
			got <- v2Name(early.Msg())
		}
	}()
	select {
	case name := <-got:
		if name != "handled" {
			t.Fatalf("the waiting stream got %q, want the handled event", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting stream did not get the handled event")
	}
	// Through the gateway too, to v1.
	if resp, err := http.Post(f.gw+"/v1/events/handle", "application/json",
		strings.NewReader(`{"buildEvent":{"artifact":"handled v1","status":"Complete"}}`)); err != nil {
		t.Fatal(err)
	} else {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/events/handle: %s", resp.Status)
		}
	}
	publishLines(f.bus, 2, 3)
	testutil.Terminate(f.bus)
	late, err := f.v2().Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for late.Receive() {
		names = append(names, v2Name(late.Msg()))
	}
	if diff := cmp.Diff([]string{"line 0", "line 1", "handled", "line 2", "termination"}, names); diff != "" {
		t.Errorf("a later stream (-want +got):\n%s", diff)
	}
	v1, err := f.v1().Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	var entries []string
	for v1.Receive() {
		e := v1.Msg()
		entries = append(entries, v1Name(e)+" / "+e.GetEntry())
	}
	if diff := cmp.Diff([]string{"line 0 / Build started for artifact line 0", "line 1 / Build started for artifact line 1",
		"handled v1 / Build completed for artifact handled v1", "line 2 / Build started for artifact line 2", "termination / "}, entries); diff != "" {
		t.Errorf("v1 (-want +got):\n%s", diff)
	}
}

// GetState catches up with the run when asked, on gRPC and the gateway.
func TestGetState(t *testing.T) {
	f := newFixture(t, false)
	publishLines(f.bus, 0, 10)
	st, err := f.v2().GetState(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Msg.GetBuildState().GetArtifacts()["events"]; got != "10" {
		t.Errorf("v2 state after 10 events: %q", got)
	}
	publishLines(f.bus, 10, 25)
	resp, err := http.Get(f.gw + "/v1/state")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	want := `{"buildState":{"artifacts":{"events":"25"},"autoTrigger":false,"statusCode":"OK"},"deployState":null,"forwardedPorts":{},` +
		`"statusCheckState":null,"fileSyncState":null,"debuggingContainers":[],"metadata":null,"testState":null}`
	if diff := cmp.Diff(want, string(body)); diff != "" {
		t.Errorf("GET /v1/state (-want +got):\n%s", diff)
	}
}

// fakeLoop records what the control methods ask of the dev loop.
type fakeLoop struct {
	mu                  sync.Mutex
	build, deploy, sync bool
	calls               []string
}

func (l *fakeLoop) record(c string) uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	return 1
}

func (l *fakeLoop) Execute(b, d bool) uint32 {
	return l.record(fmt.Sprintf("Execute(build=%t, deploy=%t)", b, d))
}
func (l *fakeLoop) Sync() uint32 { return l.record("Sync") }
func (l *fakeLoop) swap(v *bool, name string, on bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *v == on {
		return false
	}
	*v = on
	l.calls = append(l.calls, fmt.Sprintf("%s=%t", name, on))
	return true
}
func (l *fakeLoop) SwapAutoBuild(on bool) bool  { return l.swap(&l.build, "autoBuild", on) }
func (l *fakeLoop) SwapAutoDeploy(on bool) bool { return l.swap(&l.deploy, "autoDeploy", on) }
func (l *fakeLoop) SwapAutoSync(on bool) bool   { return l.swap(&l.sync, "autoSync", on) }
func (l *fakeLoop) AutoTriggers() (bool, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.build, l.deploy, l.sync
}

func (l *fakeLoop) took() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

// The control methods drive the dev loop as Skaffold's runner does, on
// v1 and v2, over gRPC and the gateway, with Skaffold's replies.
func TestControl(t *testing.T) {
	type call struct {
		// do makes the call: over gRPC, or over the gateway.
		do       func(f *fixture) error
		wantCode connect.Code
	}
	v1Intent := func(in *skaffoldv1.Intent) func(f *fixture) error {
		return func(f *fixture) error {
			_, err := f.v1().Execute(context.Background(), connect.NewRequest(&skaffoldv1.UserIntentRequest{Intent: in}))
			return err
		}
	}
	v2Intent := func(in *skaffoldv2.Intent) func(f *fixture) error {
		return func(f *fixture) error {
			_, err := f.v2().Execute(context.Background(), connect.NewRequest(&skaffoldv2.UserIntentRequest{Intent: in}))
			return err
		}
	}
	v1Trigger := func(which string, st *skaffoldv1.TriggerState) func(f *fixture) error {
		return func(f *fixture) error {
			req := connect.NewRequest(&skaffoldv1.TriggerRequest{State: st})
			var err error
			switch which {
			case "build":
				_, err = f.v1().AutoBuild(context.Background(), req)
			case "sync":
				_, err = f.v1().AutoSync(context.Background(), req)
			case "deploy":
				_, err = f.v1().AutoDeploy(context.Background(), req)
			}
			return err
		}
	}
	v2Trigger := func(on bool) func(f *fixture) error {
		return func(f *fixture) error {
			_, err := f.v2().AutoDeploy(context.Background(), connect.NewRequest(&skaffoldv2.TriggerRequest{
				State: &skaffoldv2.TriggerState{Val: &skaffoldv2.TriggerState_Enabled{Enabled: on}}}))
			return err
		}
	}
	// gateway makes an HTTP call and turns its reply back into a status.
	gateway := func(method, path, body string, wantBody string) func(f *fixture) error {
		return func(f *fixture) error {
			req, err := http.NewRequest(method, f.gw+path, strings.NewReader(body))
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			data, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if wantBody != "" && string(data) != wantBody {
				return fmt.Errorf("%s %s: body %s, want %s", method, path, data, wantBody)
			}
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			var st struct {
				Code    int32  `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(data, &st); err != nil {
				return err
			}
			return connect.NewError(connect.Code(st.Code), fmt.Errorf("HTTP %d: %s", resp.StatusCode, st.Message))
		}
	}
	on := func(b bool) *skaffoldv1.TriggerState {
		return &skaffoldv1.TriggerState{Val: &skaffoldv1.TriggerState_Enabled{Enabled: b}}
	}
	for _, tc := range []struct {
		name                string
		build, deploy, sync bool // the loop's triggers
		calls               []call
		want                []string
	}{
		{
			name:  "a build intent with auto-build off builds",
			sync:  true,
			calls: []call{{do: v1Intent(&skaffoldv1.Intent{Build: true})}},
			want:  []string{"Execute(build=true, deploy=false)"},
		},
		{
			name:  "an intent for a phase whose trigger is on is ignored",
			build: true, deploy: true, sync: true,
			calls: []call{{do: v2Intent(&skaffoldv2.Intent{Build: true, Sync: true, Deploy: true})}},
		},
		{
			name:  "sync and deploy intents over the gateway",
			build: true,
			calls: []call{{do: gateway(http.MethodPost, "/v2/execute", `{"sync": true, "deploy": true}`, `{}`)}},
			want:  []string{"Sync", "Execute(build=false, deploy=true)"},
		},
		{
			name:  "devloop asks for every phase unless all three triggers are on",
			build: true, deploy: true,
			calls: []call{{do: v1Intent(&skaffoldv1.Intent{Devloop: true})}},
			want:  []string{"Sync", "Execute(build=true, deploy=true)"},
		},
		{
			name:  "turning a trigger on and off",
			calls: []call{{do: v1Trigger("build", on(true))}, {do: v1Trigger("sync", on(true))}, {do: v1Trigger("build", on(false))}},
			want:  []string{"autoBuild=true", "autoSync=true", "autoBuild=false"},
		},
		{
			name:   "a trigger already in that state is ALREADY_EXISTS",
			deploy: true,
			calls: []call{
				{do: v1Trigger("deploy", on(true)), wantCode: connect.CodeAlreadyExists},
				{do: v2Trigger(true), wantCode: connect.CodeAlreadyExists},
				{do: gateway(http.MethodPut, "/v1/deploy/auto_execute", `{"enabled":true}`,
					`{"code":6,"message":"auto deploy is already set to true","details":[]}`), wantCode: connect.CodeAlreadyExists},
				{do: gateway(http.MethodPut, "/v2/deploy/auto_execute", `{"enabled":true}`,
					`{"code":6,"message":"auto Deploy is already set to true","details":[]}`), wantCode: connect.CodeAlreadyExists},
			},
		},
		{
			name:  "v1 requires enabled; v2 takes its absence for off",
			build: true,
			calls: []call{
				{do: v1Trigger("build", nil), wantCode: connect.CodeInvalidArgument},
				{do: gateway(http.MethodPut, "/v2/build/auto_execute", ``, `{}`)},
			},
			want: []string{"autoBuild=false"},
		},
		{
			name:  "a body that is not the request's JSON is INVALID_ARGUMENT",
			calls: []call{{do: gateway(http.MethodPost, "/v1/execute", `{"build": "yes"}`, ""), wantCode: connect.CodeInvalidArgument}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			loop := &fakeLoop{build: tc.build, deploy: tc.deploy, sync: tc.sync}
			f.srv.SetController(loop)
			for i, c := range tc.calls {
				err := c.do(f)
				switch {
				case c.wantCode == 0 && err != nil:
					t.Errorf("call %d: %v, want success", i, err)
				case c.wantCode != 0 && connect.CodeOf(err) != c.wantCode:
					t.Errorf("call %d: %v, want %v", i, err, c.wantCode)
				}
			}
			if diff := cmp.Diff(tc.want, loop.took()); diff != "" {
				t.Errorf("what the loop was asked (-want +got):\n%s", diff)
			}
		})
	}
}

// Without a dev loop to drive, control calls say why.
func TestControlWithoutLoop(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  bool
		want connect.Code
	}{
		{"a run that is not hoist dev", false, connect.CodeFailedPrecondition},
		{"hoist dev before its loop runs", true, connect.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.dev)
			_, err := f.v2().Execute(t.Context(), connect.NewRequest(&skaffoldv2.UserIntentRequest{Intent: &skaffoldv2.Intent{Build: true}}))
			if got := connect.CodeOf(err); got != tc.want {
				t.Errorf("Execute: %v, want %v", err, tc.want)
			}
			_, err = f.v1().AutoBuild(t.Context(), connect.NewRequest(&skaffoldv1.TriggerRequest{State: &skaffoldv1.TriggerState{Val: &skaffoldv1.TriggerState_Enabled{Enabled: true}}}))
			if got := connect.CodeOf(err); got != tc.want {
				t.Errorf("AutoBuild: %v, want %v", err, tc.want)
			}
		})
	}
}

// The gateway answers an unknown path and a wrong method as grpc-gateway
// does.
func TestGatewayRoutes(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		method, path string
		wantStatus   int
		wantBody     string
	}{
		{http.MethodGet, "/v3/events", http.StatusNotFound, `{"code":5,"message":"Not Found","details":[]}`},
		{http.MethodPost, "/v2/state", http.StatusNotImplemented, `{"code":12,"message":"Method Not Allowed","details":[]}`},
		{http.MethodPost, "/v1/events/handle", http.StatusOK, `{}`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, f.gw+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || string(body) != tc.wantBody {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// gRPC reflection lists Skaffold's services, for grpcurl.
func TestReflection(t *testing.T) {
	f := newFixture(t, false)
	stream := grpcreflect.NewClient(f.hc, f.url).NewStream(t.Context())
	defer func() { _, _ = stream.Close() }() // the names were read
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proto.SkaffoldService", "proto.v2.SkaffoldV2Service", "hoist.v1alpha2.EventService"} {
		if !slices.Contains(names, protoreflect.FullName(want)) {
			t.Errorf("reflection lists %v, not %s", names, want)
		}
	}
}

// The end of the run waits for the Skaffold streams connected, so that
// none loses the events at its end; a stream that does not read is cut
// when the drain bound passes, with a status that says so.
func TestDrainCoversSkaffoldStreams(t *testing.T) {
	f := newFixture(t, false)
	reader, err := f.v2().Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	counted := make(chan int, 1)
	go func() {
		n := 0
		for reader.Receive() {
			n++
			if n == 1 {
				time.Sleep(200 * time.Millisecond) // behind when the run ends
			}
		}
		counted <- n
	}()
	publishLines(f.bus, 0, 20000)
	testutil.Terminate(f.bus)
	if cuts := f.api.Drain(t.Context(), time.Minute, 0); len(cuts) != 0 {
		t.Fatalf("Drain cut %v", cuts)
	}
	select {
	case n := <-counted:
		if n != 20001 {
			t.Errorf("the stream got %d events, want 20001", n)
		}
	case <-time.After(time.Minute):
		t.Fatal("the stream did not end")
	}

	// A gateway stream that reads nothing is cut.
	g := newFixture(t, false)
	publishLines(g.bus, 0, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.gw+"/v2/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	// Enough lines to fill the socket's buffers.
	big := strings.Repeat("x", 4000)
	for range 5000 {
		g.bus.Publish(testutil.LogEvent("app", big))
	}
	testutil.Terminate(g.bus)
	cuts := g.api.Drain(t.Context(), 300*time.Millisecond, 0)
	if len(cuts) != 1 || cuts[0].Last != 5002 {
		t.Fatalf("Drain cut %+v, want the one stream, behind sequence 5002", cuts)
	}
	data, _ := io.ReadAll(resp.Body)
	last := strings.TrimSpace(string(data[strings.LastIndex(strings.TrimSuffix(string(data), "\n"), "\n")+1:]))
	if !strings.HasPrefix(last, `{"error":{"code":8,"message":"the run ended and this subscriber was not done within the drain timeout`) {
		t.Errorf("the cut stream ended with %.300s", last)
	}
}
