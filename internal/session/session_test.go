package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/jsonl"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/session"
	"github.com/hoist-dev/hoist/internal/testutil"
	"github.com/hoist-dev/hoist/pkg/client"
)

const header = "apiVersion: skaffold/v4beta14\nkind: Config\n"

// config writes a skaffold.yaml and returns its path.
func config(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "skaffold.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// output is what a run wrote.
type output struct {
	out, err bytes.Buffer
}

func (w *output) options(file string) session.Options {
	return session.Options{ConfigFile: file, Out: &w.out, Err: &w.err, Push: session.PushOptions{FlushTimeout: 300 * time.Millisecond}}
}

// events decodes JSON event lines.
func events(t *testing.T, lines string) []*pb.Envelope {
	t.Helper()
	var out []*pb.Envelope
	for line := range strings.Lines(lines) {
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatalf("not an event line: %v: %q", err, line)
		}
		out = append(out, env)
	}
	return out
}

// shape is each event's payload type and status.
func shape(envs []*pb.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, event.TypeOf(e.Event)+" "+event.StatusOf(e.Event).String())
	}
	return out
}

func terminationCode(envs []*pb.Envelope) string {
	if len(envs) == 0 {
		return "no events"
	}
	return envs[len(envs)-1].Event.GetTerminationEvent().GetError().GetCode()
}

func TestBuildOfNothingSucceeds(t *testing.T) {
	var w output
	if err := session.Build(t.Context(), w.options(config(t, header)), session.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"metaEvent STATUS_UNSPECIFIED", "terminationEvent SUCCEEDED"}
	if diff := cmp.Diff(want, shape(events(t, w.out.String()))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// A run that cannot start still reports itself: a metaEvent, then a
// terminationEvent with what kept it from starting.
func TestRunThatCannotStartReportsItself(t *testing.T) {
	broken := config(t, header+"build:\n  artifacts:\n  - image: a\n    contxt: .\n")
	noDeployer := config(t, header)
	artifacts := filepath.Join(t.TempDir(), "artifacts.json")
	if err := os.WriteFile(artifacts, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func(o session.Options) error
		file string
		code fault.Code
		// shape is the events between the metaEvent and the
		// terminationEvent.
		shape []string
	}{
		{"broken config", func(o session.Options) error {
			return session.Build(t.Context(), o, session.BuildOptions{})
		}, broken, fault.ConfigInvalid, nil},
		{"missing config", func(o session.Options) error {
			return session.Delete(t.Context(), o, session.DeployOptions{})
		}, filepath.Join(t.TempDir(), "skaffold.yaml"), fault.ConfigNotFound, nil},
		{"invalid tag", func(o session.Options) error {
			return session.Build(t.Context(), o, session.BuildOptions{Tag: "v1:latest"})
		}, noDeployer, fault.UsageInvalid, nil},
		{"no deployer", func(o session.Options) error {
			return session.Delete(t.Context(), o, session.DeployOptions{})
		}, noDeployer, fault.DeployNoDeployer, []string{"deployEvent IN_PROGRESS", "deployEvent FAILED"}},
		{"bad artifacts file", func(o session.Options) error {
			return session.Deploy(t.Context(), o, session.DeployOptions{}, session.Artifacts{File: artifacts})
		}, noDeployer, fault.DeployArtifactsInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w output
			err := tt.run(w.options(tt.file))
			if code := fault.CodeOf(err); code != tt.code {
				t.Fatalf("error %v has code %s, want %s", err, code, tt.code)
			}
			envs := events(t, w.out.String())
			want := append(append([]string{"metaEvent STATUS_UNSPECIFIED"}, tt.shape...), "terminationEvent FAILED")
			if diff := cmp.Diff(want, shape(envs)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if got := terminationCode(envs); got != string(tt.code) {
				t.Errorf("terminationEvent code %s, want %s", got, tt.code)
			}
		})
	}
}

// Settings that keep events from being reported end the run before its
// first event.
func TestUnusableEventSettings(t *testing.T) {
	cfg := config(t, header)
	tests := []struct {
		name string
		edit func(o *session.Options)
		code fault.Code
	}{
		{"format", func(o *session.Options) { o.Format = "yaml" }, fault.UsageInvalid},
		{"level", func(o *session.Options) { o.Level = "loud" }, fault.UsageInvalid},
		{"log file", func(o *session.Options) { o.LogFile = filepath.Join(cfg, "events.jsonl") }, fault.EventLogFileFailed},
		{"port", func(o *session.Options) { o.Server = session.ServerOptions{Bind: "127.0.0.1", Port: busyPort(t)} }, fault.EventRPCListen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w output
			o := w.options(cfg)
			tt.edit(&o)
			err := session.Build(t.Context(), o, session.BuildOptions{})
			if code := fault.CodeOf(err); code != tt.code {
				t.Errorf("error %v has code %s, want %s", err, code, tt.code)
			}
			if w.out.Len() > 0 {
				t.Errorf("events were written:\n%s", w.out.String())
			}
		})
	}
}

// busyPort returns a port that a listener holds until the test ends.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return port(t, ln)
}

// The event settings of the options win over the config's event section,
// which wins over the defaults.
func TestEventSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	configFile, flagFile := filepath.Join(dir, "config.jsonl"), filepath.Join(dir, "flag.jsonl")
	withSection := config(t, header+fmt.Sprintf("event:\n  log:\n    format: text\n    level: error\n    file: %s\n", configFile))
	tests := []struct {
		name     string
		file     string
		edit     func(o *session.Options)
		wantJSON bool
		wantLog  string
	}{
		{"defaults", config(t, header), func(*session.Options) {}, true, ""},
		{"config", withSection, func(*session.Options) {}, false, configFile},
		{"options", withSection, func(o *session.Options) { o.Format, o.Level, o.LogFile = "json", "info", flagFile }, true, flagFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []string{configFile, flagFile} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			var w output
			o := w.options(tt.file)
			tt.edit(&o)
			if err := session.Build(t.Context(), o, session.BuildOptions{}); err != nil {
				t.Fatal(err)
			}
			_, jsonErr := event.UnmarshalJSON([]byte(strings.SplitN(w.out.String(), "\n", 2)[0]))
			if isJSON := jsonErr == nil; isJSON != tt.wantJSON {
				t.Errorf("stdout is JSON: %v, want %v:\n%s", isJSON, tt.wantJSON, w.out.String())
			}
			if tt.name == "config" && w.out.Len() > 0 {
				t.Errorf("event.log.level error let info events through:\n%s", w.out.String())
			}
			for _, f := range []string{configFile, flagFile} {
				data, err := os.ReadFile(f)
				if wrote := err == nil && len(events(t, string(data))) == 2; wrote != (f == tt.wantLog) {
					t.Errorf("%s holds the run: %v, want %v", filepath.Base(f), wrote, f == tt.wantLog)
				}
			}
		})
	}
}

// A collector that cannot be reached costs a warning, unless the config
// requires it: then the run fails, and still reports itself.
func TestUnreachableCollector(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			cfg := config(t, header+fmt.Sprintf("event:\n  rpc:\n    address: %s\n    required: %v\n", dead, required))
			var w output
			err := session.Build(t.Context(), w.options(cfg), session.BuildOptions{})
			envs := events(t, w.out.String())
			if !required {
				if err != nil || !strings.Contains(w.err.String(), "2 of 2 events were not delivered to "+dead) {
					t.Errorf("error %v, stderr:\n%s", err, w.err.String())
				}
				return
			}
			if fault.CodeOf(err) != fault.EventRPCUnreachable || terminationCode(envs) != string(fault.EventRPCUnreachable) {
				t.Errorf("error %v, events %v; want %s", err, shape(envs), fault.EventRPCUnreachable)
			}
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return port(t, ln)
}

func port(t *testing.T, ln net.Listener) int {
	t.Helper()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("%v is not a TCP address", ln.Addr())
	}
	return addr.Port
}

// With WaitForConnection the run waits for its first subscriber, which
// then reads the whole run; the server lingers for a late one.
func TestServerWaitsAndLingers(t *testing.T) {
	port := freePort(t)
	var w output
	o := w.options(config(t, header))
	o.Server = session.ServerOptions{Port: port, Bind: "127.0.0.1", Linger: 2 * time.Second,
		WaitForConnection: true, WaitTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- session.Build(t.Context(), o, session.BuildOptions{}) }()
	c, err := client.New(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	read := func() []*pb.Envelope {
		var got []*pb.Envelope
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			err := c.Events(t.Context(), nil, func(env *pb.Envelope) error { got = append(got, env); return nil })
			if err == nil {
				return got
			}
			if len(got) > 0 || time.Now().After(deadline) {
				t.Fatalf("reading the Event API: %v", err)
			}
		}
	}
	want := []string{"metaEvent STATUS_UNSPECIFIED", "terminationEvent SUCCEEDED"}
	if diff := cmp.Diff(want, shape(read())); diff != "" {
		t.Errorf("first subscriber (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, shape(read())); diff != "" {
		t.Errorf("late subscriber (-want +got):\n%s", diff)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after its linger time")
	}
	if !strings.Contains(w.err.String(), "serving the Event API of run") {
		t.Errorf("stderr:\n%s", w.err.String())
	}
}

func TestDevRefusesUnknownTrigger(t *testing.T) {
	var w output
	err := session.Dev(t.Context(), w.options(config(t, header)), session.BuildOptions{}, session.DeployOptions{},
		session.DevOptions{Trigger: "sometimes"})
	if fault.CodeOf(err) != fault.UsageInvalid || w.out.Len() > 0 {
		t.Errorf("error %v, events:\n%s", err, w.out.String())
	}
}

// lockedBuffer is a buffer that a run writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A subscriber still behind when the drain bound passes is cut with the
// resumable status, and stderr names it; the events after the sequence it
// names are in the event log file, so it has every event once.
func TestDrainCutsASlowSubscriber(t *testing.T) {
	// Lines of random text, which compression cannot shrink: more than the
	// HTTP/2 flow-control windows let the server write ahead of a reader.
	const lines = 20_000
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := header + fmt.Sprintf(`build:
  tagPolicy: {sha256: {}}
  artifacts:
  - image: app
    context: app
    custom:
      buildCommand: "head -c %d /dev/urandom | base64 -w 900 | head -n %d; exit 3"
`, lines*700, lines)
	var stderr lockedBuffer
	logFile := filepath.Join(dir, "events.jsonl")
	port := freePort(t)
	cfg := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	o := session.Options{ConfigFile: cfg, Err: &stderr, LogFile: logFile,
		Server: session.ServerOptions{Port: port, Bind: "127.0.0.1", Linger: 2 * time.Second, DrainTimeout: 300 * time.Millisecond}}
	done := make(chan error, 1)
	go func() { done <- session.Build(t.Context(), o, session.BuildOptions{}) }()
	// Subscribe once the run has ended, while the server lingers.
	for !strings.Contains(readFile(t, logFile), `"terminationEvent"`) {
		time.Sleep(20 * time.Millisecond)
	}
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := hoistv1alpha2connect.NewEventServiceClient(hc, addr, connect.WithGRPC()).
		Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for len(got) < 100 && stream.Receive() {
		got = append(got, stream.Msg().Event.Sequence)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "cut off the Event API subscriber"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no subscriber was cut; stderr:\n%s", stderr.String())
		}
	}
	for stream.Receive() {
		got = append(got, stream.Msg().Event.Sequence)
	}
	sc, ok := rpc.SlowConsumerOf(stream.Err())
	if !ok {
		t.Fatalf("the stream ended with %v, want the resumable status", stream.Err())
	}
	if last := got[len(got)-1]; sc.LastSequence != last {
		t.Fatalf("the status names sequence %d, the subscriber got up to %d", sc.LastSequence, last)
	}
	if want := fmt.Sprintf("events up to sequence %d of", sc.LastSequence); !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
	}
	if err := <-done; fault.CodeOf(err) != fault.BuildCustomCommandFail {
		t.Fatalf("the run ended with %v, want its build's failure", err)
	}
	recorded := events(t, readFile(t, logFile))
	for _, env := range recorded[sc.LastSequence:] {
		got = append(got, env.Event.Sequence)
	}
	if len(got) != len(recorded) || len(recorded) < lines {
		t.Fatalf("the subscriber has %d events after resuming from the file, which holds %d", len(got), len(recorded))
	}
	for i, seq := range got {
		if seq != uint32(i+1) {
			t.Fatalf("event %d has sequence %d: not every event once, in order", i, seq)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// cutShort is an Event API whose stream ends, without an error, before
// the run's terminationEvent.
type cutShort struct {
	hoistv1alpha2connect.UnimplementedEventServiceHandler
}

var cutShortEvent = &pb.Envelope{ApiVersion: event.APIVersion, Kind: event.Kind, EventId: "r",
	Event: &pb.Event{Sequence: 1, Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build"}}}}

func (cutShort) Events(_ context.Context, _ *connect.Request[pb.EventsRequest], stream *connect.ServerStream[pb.Envelope]) error {
	return stream.Send(cutShortEvent)
}

// ServeHTTP serves the same stream as JSON lines, as hoist events reads
// it for --output json.
func (cutShort) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	line, err := event.MarshalJSON(cutShortEvent)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = jsonl.Write(w, func(send func([]byte, bool) error) error { return send(line, false) })
}

// hoist events --follow succeeds only when it saw the run end, unless its
// filter leaves the terminationEvent out, printing JSON (read from the
// JSON lines endpoint) or text (read over gRPC).
func TestFollowNeedsTheTerminationEvent(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventServiceHandler(cutShort{}))
	mux.Handle("GET "+rpc.EventsPath, cutShort{})
	addr := testutil.Serve(t, rpc.NewHTTPServer(mux))
	for _, output := range []string{"json", "text"} {
		for _, tc := range []struct {
			name    string
			types   []string
			follow  bool
			wantErr bool
		}{
			{"follow, every event", nil, true, true},
			{"follow, terminationEvent selected", []string{"metaEvent", "terminationEvent"}, true, true},
			{"follow, terminationEvent filtered out", []string{"metaEvent"}, true, false},
			{"history only", nil, false, false},
		} {
			t.Run(output+"/"+tc.name, func(t *testing.T) {
				var out bytes.Buffer
				err := session.Events(t.Context(), session.EventsOptions{Address: addr, Follow: tc.follow, Output: output, Types: tc.types, Out: &out})
				if (err != nil) != tc.wantErr {
					t.Fatalf("Events = %v, want an error: %t", err, tc.wantErr)
				}
				if err != nil {
					f := fault.As(err)
					if f == nil || f.Code != fault.EventsUnreachable || !strings.Contains(strings.Join(f.Suggestions, "\n"), "--after 1") {
						t.Errorf("Events = %#v, want %s with where to resume", err, fault.EventsUnreachable)
					}
				}
				if !strings.Contains(out.String(), `"metaEvent"`) && !strings.Contains(out.String(), "build") {
					t.Errorf("the event read is not printed: %q", out.String())
				}
			})
		}
	}
}
