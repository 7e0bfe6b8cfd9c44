package skaffoldapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/event"
)

// jsonStyle is one of the two JSON forms Skaffold writes its events in.
type jsonStyle struct {
	opts protojson.MarshalOptions
	// logNames are the JSON names of the skaffoldLogEvent's fields.
	logNames [4]string // task_id, subtask_id, level, message
}

var (
	// gatewayStyle is the JSON of Skaffold's HTTP gateway: proto field
	// names, with the fields left empty written too.
	gatewayStyle = jsonStyle{
		opts:     protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
		logNames: [4]string{`"task_id":`, `"subtask_id":`, `"level":`, `"message":`},
	}
	// fileStyle is the JSON of Skaffold's event log files, which its
	// jsonpb marshaler writes: JSON field names, empty fields left out.
	fileStyle = jsonStyle{
		opts:     protojson.MarshalOptions{},
		logNames: [4]string{`"taskId":`, `"subtaskId":`, `"level":`, `"message":`},
	}
)

// appendJSON appends msg in the style's JSON, compact, to dst: exactly
// what protojson writes, without the spaces it adds at random.
func (st jsonStyle) appendJSON(dst []byte, msg proto.Message) ([]byte, error) {
	if ev, ok := msg.(*skaffoldv2.Event); ok {
		if out, ok := st.appendLogEvent(dst, ev); ok {
			return out, nil
		}
	}
	data, err := st.opts.Marshal(msg)
	if err != nil {
		return dst, fmt.Errorf("encoding %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	return appendCompact(dst, data)
}

// appendCompact appends the JSON of data without the spaces protojson
// adds at random.
func appendCompact(dst, data []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, data); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// appendLogEvent appends ev when it is a plain line of output, a
// skaffoldLogEvent, the event a build's output makes a million of: written
// here, in the bytes protojson would write, for a tenth of its cost. It
// reports false, having appended nothing, for any other event, or one
// protojson would write otherwise (unknown fields, an unnamed level, a
// string that is not UTF-8, a time out of range), which the caller then
// encodes with protojson.
func (st jsonStyle) appendLogEvent(dst []byte, ev *skaffoldv2.Event) ([]byte, bool) {
	le := ev.GetSkaffoldLogEvent()
	ts := ev.GetTimestamp()
	if le == nil || ts == nil || len(ev.ProtoReflect().GetUnknown())+len(le.ProtoReflect().GetUnknown())+len(ts.ProtoReflect().GetUnknown()) != 0 {
		return dst, false
	}
	level, ok := enums.LogLevel_name[int32(le.Level)]
	if !ok {
		return dst, false
	}
	emit := st.opts.EmitUnpopulated
	b := append(dst, `{"timestamp":`...)
	b, err := event.AppendJSONTimestamp(b, ts.Seconds, ts.Nanos)
	if err != nil {
		return dst, false
	}
	b = append(b, `,"skaffoldLogEvent":{`...)
	start := len(b)
	field := func(name string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, name...)
	}
	for i, s := range [...]string{le.TaskId, le.SubtaskId} {
		if s != "" || emit {
			field(st.logNames[i])
			if b, err = event.AppendJSONString(b, s); err != nil {
				return dst, false
			}
		}
	}
	if le.Level != enums.LogLevel_DEBUG || emit {
		field(st.logNames[2])
		b = append(append(append(b, '"'), level...), '"')
	}
	if le.Message != "" || emit {
		field(st.logNames[3])
		if b, err = event.AppendJSONString(b, le.Message); err != nil {
			return dst, false
		}
	}
	return append(b, '}', '}'), true
}
