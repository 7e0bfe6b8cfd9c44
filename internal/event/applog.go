package event

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// The prefixes of application log lines in the text form, as
// deploy.logs.prefix names them.
const (
	// PrefixAuto is [pod container], or [container] when the pod is
	// named as its container: Skaffold's default.
	PrefixAuto = "auto"
	// PrefixContainer is [container].
	PrefixContainer = "container"
	// PrefixPodAndContainer is [pod container].
	PrefixPodAndContainer = "podAndContainer"
	// PrefixNone shows the line alone.
	PrefixNone = "none"
)

// LogFormat is how the text form shows applicationLogEvents, as
// deploy.logs asks: Prefix is one of the Prefix constants (empty is
// PrefixAuto); Fields, when set, are the top-level fields of a JSON line
// shown in its place ("level: info, msg: listening"), as jsonParse.fields
// picks them. A line that is not a JSON object, or has none of the
// fields, is shown as printed. Only the text changes: the event's message
// is always the line as printed.
type LogFormat struct {
	Prefix string
	Fields []string
}

// AppendText is the package's AppendText with application log lines shown
// as f says.
func (f LogFormat) AppendText(b []byte, env *pb.Envelope, color bool) []byte {
	e := env.GetEvent().GetApplicationLogEvent()
	if e == nil {
		return AppendText(b, env, color)
	}
	ts := env.GetEvent().GetTimestamp().AsTime().Format("15:04:05.000")
	if color {
		ts = dim + ts + reset
	}
	b = append(b, ts...)
	b = append(b, ' ')
	return f.AppendLine(b, e, color)
}

// AppendLine appends the prefix and the message of an application log
// line, without its time.
func (f LogFormat) AppendLine(b []byte, e *pb.ApplicationLogEvent, color bool) []byte {
	if p := f.prefix(e.Pod, e.Container); p != "" {
		if color {
			p = prefixColor(e.Pod+"/"+e.Container) + p + reset
		}
		b = append(b, p...)
		b = append(b, ' ')
	}
	return append(b, f.message(e.Message)...)
}

func (f LogFormat) prefix(pod, container string) string {
	switch f.Prefix {
	case PrefixNone:
		return ""
	case PrefixContainer:
		return "[" + container + "]"
	case PrefixPodAndContainer:
		return "[" + pod + " " + container + "]"
	}
	if pod == container {
		return "[" + container + "]"
	}
	return "[" + pod + " " + container + "]"
}

// message is the line, or the fields of f picked out of it when it is a
// JSON object that has some.
func (f LogFormat) message(line string) string {
	if len(f.Fields) == 0 || !strings.HasPrefix(strings.TrimSpace(line), "{") {
		return line
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber() // numbers as written, not as floats
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return line
	}
	var parts []string
	for _, name := range f.Fields {
		v, ok := obj[name]
		if !ok {
			continue
		}
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case json.Number:
			s = t.String()
		case map[string]any, []any:
			raw, _ := json.Marshal(t) // decoded from JSON: it encodes
			s = string(raw)
		default:
			s = fmt.Sprint(t)
		}
		parts = append(parts, name+": "+s)
	}
	if len(parts) == 0 {
		return line
	}
	return strings.Join(parts, ", ")
}

// prefixColors tell containers apart on a terminal; none of them is the
// red, green or yellow of a status.
var prefixColors = []string{"\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[94m"}

// prefixColor is the color of a container's prefix, the same for every
// line of the container.
func prefixColor(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key)) // a hash does not fail
	return prefixColors[h.Sum32()%uint32(len(prefixColors))]
}
