package session_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/session"
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
