package event

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// ANSI colors for the text form on terminals.
const (
	reset  = "\x1b[0m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
)

// AppendText appends a one-line human form of env to b: time, phase,
// subject, status and detail; build output lines are indented under their
// image. With color, statuses and output are colored for a terminal.
func AppendText(b []byte, env *pb.Envelope, color bool) []byte {
	ev := env.GetEvent()
	paint := func(c, s string) string {
		if !color || s == "" {
			return s
		}
		return c + s + reset
	}
	ts := ev.GetTimestamp().AsTime().Format("15:04:05.000")
	b = append(b, paint(dim, ts)...)
	b = append(b, ' ')
	line := func(phase, subject string, status pb.Status, detail string) {
		b = fmt.Appendf(b, "%-7s", phase)
		for _, part := range []string{subject, paintStatus(status, color), detail} {
			if part != "" {
				b = append(b, ' ')
				b = append(b, part...)
			}
		}
	}
	switch p := ev.GetPayload().(type) {
	case *pb.Event_MetaEvent:
		m := p.MetaEvent
		d := fmt.Sprintf("hoist %s, hoist version %s, run id %s", m.Command, m.Version, env.EventId)
		if len(m.Artifacts) > 0 {
			d += ", artifacts " + strings.Join(m.Artifacts, " ")
		}
		if m.Deployer != "" {
			d += ", deployer " + m.Deployer
		}
		line("start", "", 0, d)
	case *pb.Event_BuildEvent:
		e := p.BuildEvent
		if e.Log != "" {
			prefix := "  " + e.Image + " │ "
			if e.Step != nil && strings.HasPrefix(e.Log, "Step ") {
				b = append(b, (prefix + paint(cyan, e.Log))...)
			} else {
				b = append(b, (prefix + paint(dim, e.Log))...)
			}
			break
		}
		line("build", e.Image, e.Status, join(artifactText(e.Artifact), errorText(e.Error)))
	case *pb.Event_DeployEvent:
		e := p.DeployEvent
		var d []string
		for _, r := range e.Resources {
			d = append(d, fmt.Sprintf("%s %s/%s/%s", r.Action, r.Kind, r.Namespace, r.Name))
		}
		if len(e.Manifests) > 0 {
			d = append(d, "manifests "+strings.Join(e.Manifests, " "))
		}
		if e.Log != "" {
			d = append(d, e.Log)
		}
		line("deploy", e.Deployer, e.Status, join(strings.Join(d, ", "), errorText(e.Error)))
	case *pb.Event_StatusCheckEvent:
		e := p.StatusCheckEvent
		line("status", e.Resource, e.Status, join(e.Message, errorText(e.Error)))
	case *pb.Event_DevLoopEvent:
		e := p.DevLoopEvent
		d := ""
		if len(e.ChangedFiles) > 0 {
			d = "changed " + strings.Join(e.ChangedFiles, " ")
		}
		line("dev", fmt.Sprintf("iteration %d", e.Iteration), e.Status, join(d, errorText(e.Error)))
	case *pb.Event_TestEvent:
		e := p.TestEvent
		if e.Log != "" {
			line("test", e.Image, 0, e.Log)
			break
		}
		line("test", e.Image, e.Status, errorText(e.Error))
	case *pb.Event_RenderEvent:
		e := p.RenderEvent
		line("render", strings.Join(e.Manifests, " "), e.Status, errorText(e.Error))
	case *pb.Event_ApplicationLogEvent:
		b = LogFormat{}.AppendLine(b, p.ApplicationLogEvent, color)
	case *pb.Event_PortEvent:
		e := p.PortEvent
		to := fmt.Sprintf("%s/%s:%d", e.Namespace, e.Pod, e.RemotePort)
		if e.Container != "" {
			to += " (container " + e.Container + ")"
		}
		local := net.JoinHostPort(e.Address, strconv.FormatUint(uint64(e.LocalPort), 10))
		line("port", e.ResourceType+"/"+e.ResourceName, 0, local+" -> "+to)
	case *pb.Event_FileSyncEvent:
		e := p.FileSyncEvent
		files := fmt.Sprintf("%d files", e.FileCount)
		if e.FileCount == 1 {
			files = "1 file"
		}
		line("sync", e.Image, e.Status, join(files, errorText(e.Error)))
	case *pb.Event_TerminationEvent:
		e := p.TerminationEvent
		line("end", "", e.Status, errorText(e.Error))
	default:
		line("unknown", "", 0, "")
	}
	return b
}

func paintStatus(s pb.Status, color bool) string {
	if s == pb.Status_STATUS_UNSPECIFIED {
		return ""
	}
	name := s.String()
	if !color {
		return name
	}
	switch s {
	case pb.Status_SUCCEEDED:
		return green + name + reset
	case pb.Status_FAILED:
		return red + name + reset
	case pb.Status_CANCELED, pb.Status_SKIPPED:
		return yellow + name + reset
	}
	return name
}

func artifactText(a *pb.Artifact) string {
	if a == nil {
		return ""
	}
	if a.Digest == "" {
		return a.Tag
	}
	return a.Tag + " " + a.Digest
}

func errorText(e *pb.Error) string {
	if e == nil {
		return ""
	}
	s := fmt.Sprintf("[%s] %s", e.Code, e.Message)
	for _, sug := range e.Suggestions {
		s += "\n    hint: " + sug
	}
	return s
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + " " + b
}
