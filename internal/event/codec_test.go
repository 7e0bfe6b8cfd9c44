package event

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// TestAppendJSONMatchesProtojson fills envelopes at random, every field of
// every message of the contract in turn, and checks that AppendJSON writes
// exactly what protojson writes once protojson's random whitespace is
// taken out, and fails where protojson fails.
func TestAppendJSONMatchesProtojson(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	f := newFiller(seed, "")
	for range 3000 {
		env := &pb.Envelope{}
		f.fill(env.ProtoReflect(), 0)
		prefix := []byte("prefix ")
		got, err := AppendJSON(prefix, env)
		if !bytes.HasPrefix(got, prefix) {
			t.Fatalf("AppendJSON lost what the buffer held: %q", got)
		}
		if err != nil && len(got) != len(prefix) {
			t.Errorf("AppendJSON failed (%v) but left %q after the buffer's bytes", err, got[len(prefix):])
		}
		compare(t, env, got[len(prefix):], err)
		if t.Failed() {
			t.Fatalf("seed %d, event %v", seed, env)
		}
	}
	// Every field of every message reachable from the envelope was set.
	var missed []string
	var walk func(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool)
	walk = func(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			if !f.set[fd.FullName()] {
				missed = append(missed, string(fd.FullName()))
			}
			if fd.Message() != nil {
				walk(fd.Message(), seen)
			}
		}
	}
	walk((&pb.Envelope{}).ProtoReflect().Descriptor(), map[protoreflect.FullName]bool{})
	if len(missed) > 0 {
		t.Errorf("fields never set by the random events: %v", missed)
	}
}

// TestBusJSONMatchesAppendJSON checks the JSON a bus writes for its events,
// with their shared head copied and a timestamp's second kept, against
// AppendJSON, on random envelopes: most with the bus's head and one of a
// few seconds, as a run's events have, the others as they come.
func TestBusJSONMatchesAppendJSON(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	f := newFiller(seed, "")
	enc := newEncoding("0192f6a4-7c1e-7d2a-9b3c-4d5e6f708192")
	if enc.head == nil {
		t.Fatal("no head for a valid run id")
	}
	for i := range 3000 {
		env := &pb.Envelope{}
		f.fill(env.ProtoReflect(), 0)
		if i%4 != 0 {
			env.ApiVersion, env.Kind, env.EventId = APIVersion, Kind, enc.runID
			if ts := env.GetEvent().GetTimestamp(); ts != nil {
				ts.Seconds = 1698400000 + int64(f.r.IntN(3))
			}
		}
		prefix := []byte("prefix ")
		want, wantErr := AppendJSON(prefix, env)
		got, err := enc.appendJSON(prefix, env)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("seed %d, event %v:\nbus:        %s (error %v)\nAppendJSON: %s (error %v)", seed, env, got, err, want, wantErr)
		}
	}
	if bad := newEncoding("bad \xff id"); bad.head != nil {
		t.Errorf("a run id that is not UTF-8 has the head %q", bad.head)
	}
}

// TestAppendJSONErrors checks the events protojson refuses to write:
// strings that are not valid UTF-8, anywhere in the event, and timestamps
// out of range. AppendJSON refuses them too and leaves the buffer as it
// was.
func TestAppendJSONErrors(t *testing.T) {
	ok := func() *pb.Envelope {
		return &pb.Envelope{ApiVersion: APIVersion, Kind: Kind, EventId: "run", Event: &pb.Event{Sequence: 1,
			Timestamp: timestamppb.New(time.Date(2023, 10, 27, 10, 0, 0, 0, time.UTC)),
			Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "my-app", Status: pb.Status_FAILED,
				Log: "a line", Error: &pb.Error{Code: "X", Suggestions: []string{"one", "two"}}}}}}
	}
	for name, spoil := range map[string]func(*pb.Envelope){
		"event_id":          func(e *pb.Envelope) { e.EventId = "\xff" },
		"log":               func(e *pb.Envelope) { e.Event.GetBuildEvent().Log = "Step 1/2 : RUN echo \xc3" },
		"suggestion":        func(e *pb.Envelope) { e.Event.GetBuildEvent().Error.Suggestions[1] = "a\xed\xa0\x80b" },
		"seconds too big":   func(e *pb.Envelope) { e.Event.Timestamp.Seconds = maxTimestampSeconds + 1 },
		"seconds too small": func(e *pb.Envelope) { e.Event.Timestamp.Seconds = minTimestampSeconds - 1 },
		"negative nanos":    func(e *pb.Envelope) { e.Event.Timestamp.Nanos = -1 },
		"nanos too big":     func(e *pb.Envelope) { e.Event.Timestamp.Nanos = 1_000_000_000 },
	} {
		t.Run(name, func(t *testing.T) {
			env := ok()
			if _, err := AppendJSON(nil, env); err != nil {
				t.Fatalf("the event before spoiling it: %v", err)
			}
			spoil(env)
			if _, err := protojson.Marshal(env); err == nil {
				t.Fatal("protojson writes the spoiled event")
			}
			buf := []byte("kept\n")
			got, err := AppendJSON(buf, env)
			if err == nil {
				t.Fatalf("AppendJSON wrote %s", got)
			}
			if string(got) != "kept\n" {
				t.Errorf("AppendJSON returned %q with its error, want the buffer as it was", got)
			}
		})
	}
}

// TestAppendString pins the escaping of strings, which is protojson's and
// not encoding/json's: no HTML escaping, short forms for \b and \f.
func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"":                      `""`,
		"plain":                 `"plain"`,
		"<a href='x'>&amp;</a>": `"<a href='x'>&amp;</a>"`,
		"quote \" backslash \\": `"quote \" backslash \\"`,
		"\b\f\n\r\t":            `"\b\f\n\r\t"`,
		"\x00\x01\x1b\x1f\x7f":  `"\u0000\u0001\u001b\u001f` + "\x7f" + `"`,
		"é ✓ 🚀 \u2028\u2029":    "\"é ✓ 🚀 \u2028\u2029\"",
		"\ufffd":                "\"\ufffd\"",
	} {
		got, err := appendString(nil, in)
		if err != nil {
			t.Errorf("appendString(%q): %v", in, err)
			continue
		}
		if string(got) != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestAppendStringAtEveryOffset puts each kind of byte the string writer
// treats apart at every offset of strings as long as a few 8-byte words,
// which it reads a word at a time, and checks the result against
// protojson's.
func TestAppendStringAtEveryOffset(t *testing.T) {
	for _, special := range []string{"\x00", "\x1f", "\n", "\"", "\\", " ", "~", "\x7f", "é", "✓", "🚀", "\ufffd", "\xff", "\xe2\x9c"} {
		for n := range 26 {
			for at := range n + 1 {
				s := strings.Repeat("a", at) + special + strings.Repeat("b", n-at)
				env := &pb.Envelope{EventId: s}
				got, err := AppendJSON(nil, env)
				compare(t, env, got, err)
				if t.Failed() {
					t.Fatalf("string %q", s)
				}
			}
		}
	}
}

// TestAppendJSONEdges checks events the random ones do not make: nothing
// set, a payload whose message is nil, nil elements of a list.
func TestAppendJSONEdges(t *testing.T) {
	for name, env := range map[string]*pb.Envelope{
		"nil":                        nil,
		"empty":                      {},
		"empty event":                {Event: &pb.Event{}},
		"payload with a nil message": {Event: &pb.Event{Payload: &pb.Event_BuildEvent{}}},
		"nil payload wrapper":        {Event: &pb.Event{Payload: (*pb.Event_DeployEvent)(nil)}},
		"empty payload":              {Event: &pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{}}}},
		"nil resource": {Event: &pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{
			Resources: []*pb.Resource{nil, {Kind: "Deployment"}}}}}},
		"empty strings in a list": {Event: &pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Artifacts: []string{"", ""}}}}},
		"zero timestamp":          {Event: &pb.Event{Timestamp: &timestamppb.Timestamp{}}},
		"unknown status":          {Event: &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Status: 42}}}},
		"negative status":         {Event: &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Status: -1}}}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := AppendJSON(nil, env)
			compare(t, env, got, err)
		})
	}
}

// FuzzAppendJSON checks AppendJSON against protojson on random events that
// carry the fuzzer's string in their text fields.
func FuzzAppendJSON(f *testing.F) {
	f.Add(uint64(1), "Step 1/5 : FROM busybox")
	f.Add(uint64(2), "\x00\x1f\"\\<>&\u2028\x7f é")
	f.Add(uint64(3), "bad \xff UTF-8")
	f.Fuzz(func(t *testing.T, seed uint64, s string) {
		fl := newFiller(seed, s)
		env := &pb.Envelope{}
		fl.fill(env.ProtoReflect(), 0)
		got, err := AppendJSON(nil, env)
		compare(t, env, got, err)
	})
}

// compare checks that got, written by the encoder, is protojson's JSON of m
// without its whitespace, and that both fail together.
func compare(t *testing.T, m proto.Message, got []byte, err error) {
	t.Helper()
	want, wantErr := protojson.Marshal(m)
	if (err != nil) != (wantErr != nil) {
		t.Errorf("encoder error %v, protojson error %v", err, wantErr)
		return
	}
	if err != nil {
		return
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatalf("protojson wrote bad JSON: %v", err)
	}
	if !bytes.Equal(got, compact.Bytes()) {
		t.Errorf("encoder and protojson differ:\nencoder:   %s\nprotojson: %s", got, compact.Bytes())
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("encoder wrote bad JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("protojson wrote bad JSON: %v", err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("decoded JSON differs (-protojson +encoder):\n%s", diff)
	}
}

// A filler sets random values on random fields of a message, through the
// descriptor, and notes which fields it set.
type filler struct {
	r     *rand.Rand
	set   map[protoreflect.FullName]bool
	extra string // a string to use often, from the fuzzer
}

// newFiller returns a filler that draws from seed and uses extra, if set,
// as one string in five.
func newFiller(seed uint64, extra string) *filler {
	return &filler{r: rand.New(rand.NewPCG(seed, 0)), set: map[protoreflect.FullName]bool{}, extra: extra}
}

// maxDepth is how deep the filler nests messages.
const maxDepth = 4

func (f *filler) fill(m protoreflect.Message, depth int) {
	md := m.Descriptor()
	if md.FullName() == "google.protobuf.Timestamp" {
		f.timestamp(m)
		return
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if f.r.IntN(3) == 0 || fd.Message() != nil && depth >= maxDepth {
			continue
		}
		f.set[fd.FullName()] = true
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range f.r.IntN(4) {
				if fd.Message() != nil {
					e := l.NewElement()
					f.fill(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(f.scalar(fd))
				}
			}
		case fd.Message() != nil:
			f.fill(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, f.scalar(fd))
		}
	}
}

// timestamp sets a timestamp with 0, 3, 6 or 9 significant fractional
// digits, now and then out of protojson's range.
func (f *filler) timestamp(m protoreflect.Message) {
	fds := m.Descriptor().Fields()
	secs := f.r.Int64N(maxTimestampSeconds-minTimestampSeconds+1) + minTimestampSeconds
	nanos := int64(f.r.IntN(1_000_000_000))
	switch f.r.IntN(5) {
	case 0:
		nanos = 0
	case 1:
		nanos -= nanos % 1_000_000
	case 2:
		nanos -= nanos % 1_000
	}
	switch f.r.IntN(200) {
	case 0:
		secs = maxTimestampSeconds + 1
	case 1:
		secs = minTimestampSeconds - 1
	case 2:
		nanos = -1
	case 3:
		nanos = 1_000_000_000
	case 4:
		secs = maxTimestampSeconds
	case 5:
		secs = minTimestampSeconds
	}
	for _, fd := range []protoreflect.FieldDescriptor{fds.ByName("seconds"), fds.ByName("nanos")} {
		f.set[fd.FullName()] = true
	}
	m.Set(fds.ByName("seconds"), protoreflect.ValueOfInt64(secs))
	m.Set(fds.ByName("nanos"), protoreflect.ValueOfInt32(int32(nanos)))
}

// strs are strings with what JSON escapes, what protojson does not, and
// runes of 1 to 4 bytes.
var strs = []string{"", "my-app", "Step 1/5 : FROM ubuntu:22.04", `"quoted" \ back\slash`, "<b>&amp;</b>",
	"tab\there\r\nnew line", "\x00\x01\x07\b\f\x0b\x1b[32mOK\x1b[0m\x1f\x7f", "é ✓ 🚀 \u2028 \u2029 \ufffd",
	strings.Repeat("a long line of build output ", 10)}

func (f *filler) str() string {
	switch n := f.r.IntN(100); {
	case n == 0:
		return "invalid \xff UTF-8"
	case n < 20 && f.extra != "":
		return f.extra
	case n < 40:
		var b strings.Builder
		for range f.r.IntN(20) {
			b.WriteRune(rune(f.r.IntN(0x800)))
		}
		return b.String()
	}
	return strs[f.r.IntN(len(strs))]
}

// scalar returns a random value for fd, often an edge of its range.
func (f *filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(f.str())
	case protoreflect.EnumKind:
		if f.r.IntN(8) == 0 {
			return protoreflect.ValueOfEnum([]protoreflect.EnumNumber{-3, 42, 1000}[f.r.IntN(3)])
		}
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(f.r.IntN(vals.Len())).Number())
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32([]uint32{0, 1, math.MaxUint32, f.r.Uint32()}[f.r.IntN(4)])
	}
	panic("no random value for kind " + fd.Kind().String() + ": add one with the kind's support in jsongen")
}

// BenchmarkAppendJSON measures the JSON of the commonest event, a build
// output line, as hoist writes it (alone, and as a bus writes its events,
// copying what they share) and, for comparison, as protojson does.
func BenchmarkAppendJSON(b *testing.B) {
	env := &pb.Envelope{ApiVersion: APIVersion, Kind: Kind, EventId: "0192f6a4-7c1e-7d2a-9b3c-4d5e6f708192",
		Event: &pb.Event{Sequence: 1234, Timestamp: timestamppb.New(time.Date(2023, 10, 27, 10, 5, 0, 123456789, time.UTC)),
			Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "my-app", Status: pb.Status_IN_PROGRESS,
				Log: "#7 [builder 3/6] RUN go mod download && go build -o /app ./cmd"}}}}
	for _, enc := range []struct {
		name   string
		append func([]byte, *pb.Envelope) ([]byte, error)
	}{
		{"encoder=hoist", AppendJSON},
		{"encoder=bus", newEncoding(env.EventId).appendJSON},
		{"encoder=protojson", func(b []byte, env *pb.Envelope) ([]byte, error) {
			return protojson.MarshalOptions{}.MarshalAppend(b, env)
		}},
	} {
		b.Run(enc.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = enc.append(buf[:0], env); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
