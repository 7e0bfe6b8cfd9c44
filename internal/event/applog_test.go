package event_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

func logEnvelope(pod, container, message string) *pb.Envelope {
	return &pb.Envelope{EventId: "run-1", Event: &pb.Event{Sequence: 7,
		Timestamp: timestamppb.New(time.Date(2026, 1, 2, 10, 4, 5, 678_000_000, time.UTC)),
		Payload: &pb.Event_ApplicationLogEvent{ApplicationLogEvent: &pb.ApplicationLogEvent{
			Pod: pod, Container: container, Namespace: "default", Message: message}}}}
}

// The text form prefixes application log lines as Skaffold's
// deploy.logs.prefix does.
func TestLogPrefix(t *testing.T) {
	tests := []struct {
		prefix, pod, container, want string
	}{
		{"", "web-7d4b9-x2k4q", "app", "10:04:05.678 [web-7d4b9-x2k4q app] listening"},
		{event.PrefixAuto, "web-7d4b9-x2k4q", "app", "10:04:05.678 [web-7d4b9-x2k4q app] listening"},
		{event.PrefixAuto, "app", "app", "10:04:05.678 [app] listening"},
		{event.PrefixPodAndContainer, "app", "app", "10:04:05.678 [app app] listening"},
		{event.PrefixContainer, "web-7d4b9-x2k4q", "app", "10:04:05.678 [app] listening"},
		{event.PrefixNone, "web-7d4b9-x2k4q", "app", "10:04:05.678 listening"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"/"+tt.pod, func(t *testing.T) {
			got := string(event.LogFormat{Prefix: tt.prefix}.AppendText(nil, logEnvelope(tt.pod, tt.container, "listening"), false))
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Without a format, as hoist events prints a file: the default, auto.
	if got := string(event.AppendText(nil, logEnvelope("web-1", "app", "listening"), false)); got != "10:04:05.678 [web-1 app] listening" {
		t.Errorf("AppendText: %q", got)
	}
	// Other events are as AppendText writes them.
	term := &pb.Envelope{Event: &pb.Event{Timestamp: timestamppb.New(time.Unix(0, 0)),
		Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}}}
	if got, want := string(event.LogFormat{Prefix: event.PrefixNone}.AppendText(nil, term, false)), string(event.AppendText(nil, term, false)); got != want {
		t.Errorf("a terminationEvent: %q, want %q", got, want)
	}
	// On a terminal the prefix is colored, the same color on every line of
	// a container.
	a := string(event.LogFormat{}.AppendText(nil, logEnvelope("web-1", "app", "one"), true))
	b := string(event.LogFormat{}.AppendText(nil, logEnvelope("web-1", "app", "two"), true))
	if !strings.Contains(a, "\x1b[") || strings.TrimSuffix(a, "one") != strings.TrimSuffix(b, "two") {
		t.Errorf("colored lines %q and %q", a, b)
	}
}

// deploy.logs.jsonParse.fields picks fields out of JSON lines, as
// Skaffold does, with numbers as written.
func TestLogJSONParse(t *testing.T) {
	fields := []string{"message", "severity", "timestampSeconds", "ctx"}
	tests := []struct {
		name   string
		fields []string
		line   string
		want   string
	}{
		{"fields in the order asked", fields,
			`{"timestampSeconds":1643740871,"timestampNanos":446000000,"severity":"INFO","message":"Hello World"}`,
			"message: Hello World, severity: INFO, timestampSeconds: 1643740871"},
		{"some fields missing", []string{"message", "invalid"}, `{"message":"Hello World","other":1}`, "message: Hello World"},
		{"nested values as JSON", fields, `{"message":"m","ctx":{"user":"a","n":[1,2]}}`, `message: m, ctx: {"n":[1,2],"user":"a"}`},
		{"booleans and null", []string{"ok", "none"}, `{"ok":true,"none":null}`, "ok: true, none: <nil>"},
		{"no field found", []string{"invalid"}, `{"valid":"Hello World"}`, `{"valid":"Hello World"}`},
		{"not JSON", fields, "Hello World!", "Hello World!"},
		{"broken JSON", fields, `{"message": "cut`, `{"message": "cut`},
		{"a JSON list", fields, `[1,2]`, `[1,2]`},
		{"no fields configured", nil, `{"message":"m"}`, `{"message":"m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(event.LogFormat{Prefix: event.PrefixNone, Fields: tt.fields}.AppendText(nil, logEnvelope("p", "c", tt.line), false))
			if want := "10:04:05.678 " + tt.want; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
