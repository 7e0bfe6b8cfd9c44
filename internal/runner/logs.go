package runner

import (
	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/deploy/podlogs"
	"github.com/hoist-dev/hoist/internal/event"
)

// ApplicationLogs returns what publishes each line of a deployed
// container as an applicationLogEvent on bus.
func ApplicationLogs(bus *event.Bus) func(podlogs.Line) {
	return func(l podlogs.Line) {
		bus.Publish(&pb.Event{Payload: &pb.Event_ApplicationLogEvent{ApplicationLogEvent: &pb.ApplicationLogEvent{
			Pod: l.Pod, Container: l.Container, Namespace: l.Namespace, Message: l.Message}}})
	}
}
