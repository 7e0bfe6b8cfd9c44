package event

import (
	"reflect"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// payloadFields maps the type of each Event payload wrapper
// (*pb.Event_BuildEvent, ...) to its field, or is nil when the schema's
// envelope and event are not the ones appendProto encodes itself.
var payloadFields = knownLayout()

// payloadField is one payload of the Event's oneof.
type payloadField struct {
	num protowire.Number
}

// knownLayout returns the Event's payload fields by wrapper type when the
// Envelope has exactly its four fields (api_version, kind, event_id:
// strings 1 to 3; event: message 4) and the Event has sequence (1),
// timestamp (2) and otherwise only payload messages numbered after them,
// each held by a wrapper struct of one field.
func knownLayout() map[reflect.Type]payloadField {
	env := (&pb.Envelope{}).ProtoReflect().Descriptor().Fields()
	if env.Len() != 4 {
		return nil
	}
	for i, name := range []protoreflect.Name{"api_version", "kind", "event_id"} {
		f := env.ByNumber(protoreflect.FieldNumber(i + 1))
		if f == nil || f.Name() != name || f.Kind() != protoreflect.StringKind || f.Cardinality() == protoreflect.Repeated {
			return nil
		}
	}
	if f := env.ByNumber(4); f == nil || f.Message() == nil || f.Message().FullName() != (&pb.Event{}).ProtoReflect().Descriptor().FullName() {
		return nil
	}
	ev := (&pb.Event{}).ProtoReflect().Descriptor()
	payload := ev.Oneofs().ByName("payload")
	if payload == nil || payload.IsSynthetic() {
		return nil
	}
	fields := ev.Fields()
	if fields.Len() != 2+payload.Fields().Len() {
		return nil
	}
	if f := fields.ByNumber(1); f == nil || f.Name() != "sequence" || f.Kind() != protoreflect.Uint32Kind || f.HasPresence() {
		return nil
	}
	if f := fields.ByNumber(2); f == nil || f.Name() != "timestamp" || f.Message() == nil || f.Message().FullName() != "google.protobuf.Timestamp" {
		return nil
	}
	out := map[reflect.Type]payloadField{}
	for i := range payload.Fields().Len() {
		f := payload.Fields().Get(i)
		if f.Number() <= 2 || f.Message() == nil {
			return nil
		}
		e := &pb.Event{}
		m := e.ProtoReflect()
		m.Set(f, protoreflect.ValueOfMessage(m.NewField(f).Message()))
		t := reflect.TypeOf(e.Payload)
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || t.Elem().NumField() != 1 {
			return nil
		}
		if _, ok := payloadMessage(e.Payload); !ok {
			return nil
		}
		out[t] = payloadField{num: f.Number()}
	}
	return out
}

// payloadMessage returns the message a payload wrapper holds.
func payloadMessage(p any) (proto.Message, bool) {
	m, ok := reflect.ValueOf(p).Elem().Field(0).Interface().(proto.Message)
	return m, ok
}

// appendProto appends env's protobuf form: exactly what proto.Marshal
// gives for it. The envelope, the event and its timestamp are encoded
// here, in field order as proto.Marshal does, and only the payload by
// package proto, measured once: marshaling the whole envelope measures
// and walks each of its levels, which costs most of an event's encoding.
//
// env is one Publish made: it and the event's timestamp hold no unknown
// fields.
func appendProto(b []byte, env *pb.Envelope) ([]byte, error) {
	ev := env.GetEvent()
	if payloadFields == nil || ev == nil || !plain(ev) {
		return proto.MarshalOptions{}.MarshalAppend(b, env)
	}
	strs := [...]string{env.ApiVersion, env.Kind, env.EventId}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			// proto.Marshal reports the error.
			return proto.MarshalOptions{}.MarshalAppend(b, env)
		}
	}
	var (
		payload     proto.Message
		payloadNum  protowire.Number
		payloadSize int
	)
	if ev.Payload != nil {
		f, ok := payloadFields[reflect.TypeOf(ev.Payload)]
		if ok {
			payload, ok = payloadMessage(ev.Payload)
		}
		if !ok {
			return proto.MarshalOptions{}.MarshalAppend(b, env)
		}
		payloadNum = f.num
		payloadSize = proto.Size(payload)
	}

	var tsSize int
	if ts := ev.Timestamp; ts != nil {
		if ts.Seconds != 0 {
			tsSize += 1 + protowire.SizeVarint(uint64(ts.Seconds))
		}
		if ts.Nanos != 0 {
			tsSize += 1 + protowire.SizeVarint(uint64(int64(ts.Nanos)))
		}
	}
	evSize := 0
	if ev.Sequence != 0 {
		evSize += 1 + protowire.SizeVarint(uint64(ev.Sequence))
	}
	if ev.Timestamp != nil {
		evSize += 1 + protowire.SizeBytes(tsSize)
	}
	if payload != nil {
		evSize += protowire.SizeTag(payloadNum) + protowire.SizeBytes(payloadSize)
	}

	start := len(b)
	for i, s := range strs {
		if s != "" {
			b = protowire.AppendTag(b, protowire.Number(i+1), protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(evSize))
	if ev.Sequence != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(ev.Sequence))
	}
	if ts := ev.Timestamp; ts != nil {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(tsSize))
		if ts.Seconds != 0 {
			b = protowire.AppendTag(b, 1, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(ts.Seconds))
		}
		if ts.Nanos != 0 {
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(int64(ts.Nanos)))
		}
	}
	if payload != nil {
		b = protowire.AppendTag(b, payloadNum, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(payloadSize))
		at := len(b)
		var err error
		// The payload's sizes were just measured and cached by proto.Size.
		if b, err = (proto.MarshalOptions{UseCachedSize: true}).MarshalAppend(b, payload); err != nil {
			return b[:start], err
		}
		if len(b)-at != payloadSize {
			// Changed while it was encoded: let proto.Marshal do it all.
			return proto.MarshalOptions{}.MarshalAppend(b[:start], env)
		}
	}
	return b, nil
}

// plain reports whether m holds no unknown fields, which proto.Marshal
// would append after the known ones.
func plain(m proto.Message) bool {
	return len(m.ProtoReflect().GetUnknown()) == 0
}
