// Package runner runs hoist's pipeline in terms of the build.Builder and
// deploy.Deployer interfaces: the builds (Builds), the deploy and its status
// check (Deploys), and the dev loop that repeats them as files change (Dev).
// It reports every step on the event bus: a metaEvent first (Start), a
// terminationEvent last (Finish), and the phase events in between.
package runner

import (
	"context"
	"errors"
	"os"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/version"
)

// Start publishes the run's metaEvent. cfg may be nil when the config could
// not be read; the run then still starts and ends with events.
func Start(bus *event.Bus, command string, cfg *config.Config) {
	meta := &pb.MetaEvent{Command: command, Version: version.Version()}
	if wd, err := os.Getwd(); err == nil {
		meta.WorkingDir = wd
	}
	if cfg != nil {
		meta.Artifacts = cfg.ImageNames()
		meta.Deployer = cfg.Deployer()
	}
	bus.Publish(&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: meta}})
}

// Finish publishes the run's terminationEvent for the outcome err and ends
// the run.
func Finish(bus *event.Bus, err error) {
	term := &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}
	if err != nil {
		term.Status = statusOf(err)
		term.Error = ErrorOf(err)
	}
	bus.Publish(&pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: term}})
	bus.End()
}

// statusOf is FAILED, or CANCELED when err is a cancellation.
func statusOf(err error) pb.Status {
	if errors.Is(err, context.Canceled) || fault.CodeOf(err) == fault.Canceled {
		return pb.Status_CANCELED
	}
	return pb.Status_FAILED
}

// ErrorOf turns err into an event error with its code and suggestions.
func ErrorOf(err error) *pb.Error {
	if errors.Is(err, context.Canceled) && fault.As(err) == nil {
		return &pb.Error{Code: string(fault.Canceled), Message: "canceled"}
	}
	e := &pb.Error{Code: string(fault.CodeOf(err)), Message: err.Error()}
	if f := fault.As(err); f != nil {
		e.Suggestions = f.Suggestions
	}
	return e
}
