package skaffoldapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
)

func lineEvent(secs int64, nanos int32, task, subtask string, level enums.LogLevel, msg string) *skaffoldv2.Event {
	return &skaffoldv2.Event{Timestamp: &timestamppb.Timestamp{Seconds: secs, Nanos: nanos},
		EventType: &skaffoldv2.Event_SkaffoldLogEvent{SkaffoldLogEvent: &skaffoldv2.SkaffoldLogEvent{
			TaskId: task, SubtaskId: subtask, Level: level, Message: msg}}}
}

// viaProtojson is what the fast path must equal: protojson's bytes,
// compacted.
func viaProtojson(t *testing.T, st jsonStyle, ev *skaffoldv2.Event) string {
	t.Helper()
	data, err := st.opts.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The skaffoldLogEvent written by hand is byte for byte what protojson
// writes, in both styles, for every kind of string, time and level.
func TestLogEventJSONIsProtojsons(t *testing.T) {
	styles := map[string]jsonStyle{"gateway": gatewayStyle, "file": fileStyle}
	cases := []*skaffoldv2.Event{
		lineEvent(1700000000, 0, "Build-1", "app", enums.LogLevel_INFO, "line 1\n"),
		lineEvent(1700000000, 120_000_000, "", "", enums.LogLevel_DEBUG, ""),
		lineEvent(1700000000, 123_456_000, "Deploy-2", "-1", enums.LogLevel_STANDARD, "tab\there \"quoted\" back\\slash"),
		lineEvent(0, 1, "Build-0", "a", enums.LogLevel_WARN, "ctl \x00\x01\x1f \b\f\r <>& \u2028\u2029 é 日本 🚀"),
		lineEvent(253402300799, 999_999_999, "Test-3", "x", enums.LogLevel_TRACE, strings.Repeat("long ", 300)),
		lineEvent(-62135596800, 0, "Render-1", "", enums.LogLevel_ERROR, "\x7f"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abc \"\\\n\t\r\x00\x07\x1f\x7f<>&é日🚀\u2028/")
	for range 500 {
		random := func(n int) string {
			var sb strings.Builder
			for range rng.IntN(n) {
				sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			return sb.String()
		}
		nanos := []int32{0, rng.Int32N(1000) * 1_000_000, rng.Int32N(1_000_000) * 1000, rng.Int32N(1_000_000_000)}[rng.IntN(4)]
		cases = append(cases, lineEvent(rng.Int64N(4_000_000_000), nanos, random(5), random(3), enums.LogLevel(rng.IntN(8)), random(40)))
	}
	for name, st := range styles {
		for i, ev := range cases {
			got, ok := st.appendLogEvent([]byte("prefix"), ev)
			if !ok {
				t.Fatalf("%s: case %d: not written by hand", name, i)
			}
			if diff := cmp.Diff("prefix"+viaProtojson(t, st, ev), string(got)); diff != "" {
				t.Fatalf("%s: case %d (-protojson +by hand):\n%s", name, i, diff)
			}
		}
	}
}

// Events the fast path does not know are left to protojson, untouched.
func TestLogEventJSONLeavesTheRest(t *testing.T) {
	withUnknown := lineEvent(1, 0, "Build-1", "a", enums.LogLevel_INFO, "x")
	withUnknown.GetSkaffoldLogEvent().ProtoReflect().SetUnknown([]byte{0x98, 0x06, 0x01})
	for name, ev := range map[string]*skaffoldv2.Event{
		"another event":       {EventType: &skaffoldv2.Event_TaskEvent{TaskEvent: &skaffoldv2.TaskEvent{Id: "Build-1"}}},
		"no timestamp":        {EventType: &skaffoldv2.Event_SkaffoldLogEvent{SkaffoldLogEvent: &skaffoldv2.SkaffoldLogEvent{Message: "x"}}},
		"an unnamed level":    lineEvent(1, 0, "Build-1", "a", enums.LogLevel(42), "x"),
		"invalid UTF-8":       lineEvent(1, 0, "Build-1", "a", enums.LogLevel_INFO, "\xff"),
		"a time out of range": lineEvent(253402300800, 0, "Build-1", "a", enums.LogLevel_INFO, "x"),
		"unknown fields":      withUnknown,
	} {
		t.Run(name, func(t *testing.T) {
			if got, ok := gatewayStyle.appendLogEvent([]byte("prefix"), ev); ok || string(got) != "prefix" {
				t.Errorf("written by hand: %q", got)
			}
		})
	}
}

func BenchmarkLogEventJSON(b *testing.B) {
	ev := lineEvent(1700000000, 123_456_789, "Build-0", "app", enums.LogLevel_INFO,
		"#12345 [build 2/3] RUN step output bench-line 12345/1000000: lorem ipsum dolor sit amet\n")
	for _, path := range []string{"by hand", "protojson"} {
		b.Run(path, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				if path == "by hand" {
					buf, _ = gatewayStyle.appendJSON(buf[:0], ev)
				} else {
					data, _ := gatewayStyle.opts.Marshal(ev)
					buf, _ = appendCompact(buf[:0], data)
				}
			}
		})
	}
}
