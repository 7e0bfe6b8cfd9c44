package event_test

import (
	"strings"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

func TestTextOfAPortEvent(t *testing.T) {
	env := &pb.Envelope{Event: &pb.Event{Payload: &pb.Event_PortEvent{PortEvent: &pb.PortEvent{LocalPort: 9000, RemotePort: 8080,
		Pod: "web-5c9d-x2k4p", Container: "web", Namespace: "dev", ResourceType: "service", ResourceName: "web", Address: "::1"}}}}
	got := string(event.AppendText(nil, env, false))
	want := "port    service/web [::1]:9000 -> dev/web-5c9d-x2k4p:8080 (container web)"
	if !strings.HasSuffix(got, want) {
		t.Errorf("text = %q, want it to end with %q", got, want)
	}
}
