package event

import (
	"fmt"
	"log/slog"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// LevelOf returns an event's level: failures are error, cancellations warn,
// everything else info, application log lines included. Levels filter what is written to stdout, never
// what is recorded or sent. No event is below info, since hoist reports a
// watched resource only when its state changes: at info level (and at
// debug, which selects the same) stdout carries every event, contiguously.
func LevelOf(ev *pb.Event) slog.Level {
	status, err := statusOf(ev)
	switch {
	case status == pb.Status_FAILED || err != nil:
		return slog.LevelError
	case status == pb.Status_CANCELED:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// ParseLevel reads a level name: debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q: use debug, info, warn or error", s)
}

// statusOf returns the status and error of any payload.
func statusOf(ev *pb.Event) (pb.Status, *pb.Error) {
	switch p := ev.GetPayload().(type) {
	case *pb.Event_BuildEvent:
		return p.BuildEvent.GetStatus(), p.BuildEvent.GetError()
	case *pb.Event_DeployEvent:
		return p.DeployEvent.GetStatus(), p.DeployEvent.GetError()
	case *pb.Event_StatusCheckEvent:
		return p.StatusCheckEvent.GetStatus(), p.StatusCheckEvent.GetError()
	case *pb.Event_DevLoopEvent:
		return p.DevLoopEvent.GetStatus(), p.DevLoopEvent.GetError()
	case *pb.Event_TestEvent:
		return p.TestEvent.GetStatus(), p.TestEvent.GetError()
	case *pb.Event_RenderEvent:
		return p.RenderEvent.GetStatus(), p.RenderEvent.GetError()
	case *pb.Event_FileSyncEvent:
		return p.FileSyncEvent.GetStatus(), p.FileSyncEvent.GetError()
	case *pb.Event_TerminationEvent:
		return p.TerminationEvent.GetStatus(), p.TerminationEvent.GetError()
	}
	return pb.Status_STATUS_UNSPECIFIED, nil
}

// StatusOf returns the status of any payload, STATUS_UNSPECIFIED for a
// metaEvent.
func StatusOf(ev *pb.Event) pb.Status {
	s, _ := statusOf(ev)
	return s
}
