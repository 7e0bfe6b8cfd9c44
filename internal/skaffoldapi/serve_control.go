package skaffoldapi

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
)

// Controller is the dev loop that Skaffold's control methods drive:
// *runner.Dev.
type Controller interface {
	// Execute asks for a build and/or a deploy now.
	Execute(build, deploy bool) uint32
	// Sync asks for the pending file syncs now.
	Sync() uint32
	// SwapAutoBuild, SwapAutoDeploy and SwapAutoSync turn a trigger on
	// or off and report whether that changed it.
	SwapAutoBuild(on bool) (changed bool)
	SwapAutoDeploy(on bool) (changed bool)
	SwapAutoSync(on bool) (changed bool)
	// AutoTriggers returns the triggers now.
	AutoTriggers() (build, deploy, sync bool)
}

// SetController gives the control methods the dev loop once it exists.
func (s *Server) SetController(c Controller) {
	s.mu.Lock()
	s.ctrl = c
	s.mu.Unlock()
}

// controller returns the dev loop, or the status of a control call that
// has none to drive.
func (s *Server) controller() (Controller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ctrl != nil:
		return s.ctrl, nil
	case s.dev:
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the dev loop has not started yet; try again in a moment"))
	default:
		return nil, connect.NewError(connect.CodeFailedPrecondition,
			errors.New("only hoist dev can be driven: this run builds and deploys once"))
	}
}

// Triggers returns the dev loop's automatic triggers, and false without
// a dev loop.
func (s *Server) Triggers() (build, deploy, sync, ok bool) {
	s.mu.Lock()
	ctrl := s.ctrl
	s.mu.Unlock()
	if ctrl == nil {
		return false, false, false, false
	}
	build, deploy, sync = ctrl.AutoTriggers()
	return build, deploy, sync, true
}

// intent is Execute's request, the same in v1 and v2.
type intent interface {
	GetBuild() bool
	GetSync() bool
	GetDeploy() bool
	GetDevloop() bool
}

// execute runs an Execute call as Skaffold's runner does: each phase asked
// for runs once when its automatic trigger is off (with it on, the phase
// runs on changes anyway and the intent is ignored), and devloop asks for
// all three unless all three triggers are on.
func (s *Server) execute(in intent) error {
	ctrl, err := s.controller()
	if err != nil {
		return err
	}
	autoBuild, autoDeploy, autoSync := ctrl.AutoTriggers()
	build, sync, deploy := in.GetBuild(), in.GetSync(), in.GetDeploy()
	if in.GetDevloop() {
		if autoBuild && autoDeploy && autoSync {
			return nil
		}
		build, sync, deploy = true, true, true
	} else {
		build, sync, deploy = build && !autoBuild, sync && !autoSync, deploy && !autoDeploy
	}
	if sync {
		ctrl.Sync()
	}
	if build || deploy {
		ctrl.Execute(build, deploy)
	}
	return nil
}

// trigger is one of the automatic triggers, with the names v1 and v2
// give it in their replies.
type trigger struct{ v1, v2 string }

var (
	triggerBuild  = trigger{"build", "Build"}
	triggerSync   = trigger{"sync", "Sync"}
	triggerDeploy = trigger{"deploy", "Deploy"}
)

// autoTrigger turns an automatic trigger on or off, replying as Skaffold
// does: ALREADY_EXISTS when it is already in that state.
func (s *Server) autoTrigger(p trigger, name string, on bool) error {
	ctrl, err := s.controller()
	if err != nil {
		return err
	}
	var changed bool
	switch p {
	case triggerBuild:
		changed = ctrl.SwapAutoBuild(on)
	case triggerSync:
		changed = ctrl.SwapAutoSync(on)
	case triggerDeploy:
		changed = ctrl.SwapAutoDeploy(on)
	}
	if !changed {
		return connect.NewError(connect.CodeAlreadyExists, fmt.Errorf("auto %s is already set to %t", name, on))
	}
	return nil
}
