package rpc

import (
	"context"
	"errors"
	"sync"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
)

// Controller is what the ControlService drives: a hoist dev loop.
type Controller interface {
	Execute(build, deploy bool) uint32
	AutoBuild(on bool) bool
	AutoDeploy(on bool) bool
	AutoSync(on bool) bool
}

// Control serves the ControlService for a controller set once it exists.
type Control struct {
	mu sync.Mutex
	c  Controller
}

var _ hoistv1alpha2connect.ControlServiceHandler = (*Control)(nil)

// Set gives the service its controller once the dev loop runs; until
// then every call fails with UNAVAILABLE.
func (c *Control) Set(ctrl Controller) {
	c.mu.Lock()
	c.c = ctrl
	c.mu.Unlock()
}

func (c *Control) get() (Controller, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the dev loop has not started yet"))
	}
	return c.c, nil
}

// Execute implements the ControlService.
func (c *Control) Execute(_ context.Context, req *connect.Request[pb.ExecuteRequest]) (*connect.Response[pb.ExecuteResponse], error) {
	ctrl, err := c.get()
	if err != nil {
		return nil, err
	}
	if !req.Msg.Build && !req.Msg.Deploy {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("ask for a build, a deploy, or both"))
	}
	return connect.NewResponse(&pb.ExecuteResponse{Iteration: ctrl.Execute(req.Msg.Build, req.Msg.Deploy)}), nil
}

// AutoBuild implements the ControlService.
func (c *Control) AutoBuild(_ context.Context, req *connect.Request[pb.AutoBuildRequest]) (*connect.Response[pb.AutoBuildResponse], error) {
	ctrl, err := c.get()
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.AutoBuildResponse{Enabled: ctrl.AutoBuild(req.Msg.Enabled)}), nil
}

// AutoDeploy implements the ControlService.
func (c *Control) AutoDeploy(_ context.Context, req *connect.Request[pb.AutoDeployRequest]) (*connect.Response[pb.AutoDeployResponse], error) {
	ctrl, err := c.get()
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.AutoDeployResponse{Enabled: ctrl.AutoDeploy(req.Msg.Enabled)}), nil
}

// AutoSync implements the ControlService.
func (c *Control) AutoSync(_ context.Context, req *connect.Request[pb.AutoSyncRequest]) (*connect.Response[pb.AutoSyncResponse], error) {
	ctrl, err := c.get()
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.AutoSyncResponse{Enabled: ctrl.AutoSync(req.Msg.Enabled)}), nil
}
