package event

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// The payload type and status names come from the proto descriptor, the one
// source of the contract, so that a payload or status added to the .proto
// is known to filters, flags, validation and help text without another list.

var payloadOneof = (&pb.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")

// PayloadTypes are the JSON names of the event payloads ("metaEvent",
// "buildEvent", ...), in the order the proto declares them.
var PayloadTypes = func() []string {
	fields := payloadOneof.Fields()
	out := make([]string, fields.Len())
	for i := range out {
		out[i] = fields.Get(i).JSONName()
	}
	return out
}()

// Statuses are the names of the statuses an event can carry, STATUS_UNSPECIFIED
// left out, in the order the proto declares them.
var Statuses = func() []string {
	values := pb.Status(0).Descriptor().Values()
	var out []string
	for i := range values.Len() {
		if v := values.Get(i); v.Number() != protoreflect.EnumNumber(pb.Status_STATUS_UNSPECIFIED) {
			out = append(out, string(v.Name()))
		}
	}
	return out
}()

// TypeOf returns the JSON name of the event's payload, such as "buildEvent",
// or "" when it has none.
func TypeOf(ev *pb.Event) string {
	if ev == nil {
		return ""
	}
	fd := ev.ProtoReflect().WhichOneof(payloadOneof)
	if fd == nil {
		return ""
	}
	return fd.JSONName()
}

// ParseStatus reads a status name, in any case: "FAILED", "succeeded".
// STATUS_UNSPECIFIED and unknown names are refused, saying what to give.
func ParseStatus(s string) (pb.Status, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if v, ok := pb.Status_value[name]; ok && v != int32(pb.Status_STATUS_UNSPECIFIED) {
		return pb.Status(v), nil
	}
	return 0, fmt.Errorf("unknown status %q: use one of %s", s, strings.Join(Statuses, ", "))
}

// ParseStatuses reads a list of status names with ParseStatus.
func ParseStatuses(names []string) ([]pb.Status, error) {
	out := make([]pb.Status, 0, len(names))
	for _, n := range names {
		st, err := ParseStatus(n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// validType reports whether t is the JSON name of a payload.
func validType(t string) bool {
	return payloadOneof.Fields().ByJSONName(t) != nil
}
