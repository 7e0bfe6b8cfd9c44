package session

import (
	"context"
	"sync"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/portforward"
)

// startForwarding starts the run's port forwards when modes forward
// anything: each deploy of the run then tells them what to forward. It
// returns the function that stops them, which the run calls before its
// terminationEvent.
func (s *session) startForwarding(ctx context.Context, modes portforward.Modes) (stop func()) {
	if !modes.Enabled() {
		return func() {}
	}
	s.forwards = &portforward.Forwarder{Out: s.errOut, Log: s.log,
		Report: func(e *pb.PortEvent) { s.bus.Publish(&pb.Event{Payload: &pb.Event_PortEvent{PortEvent: e}}) }}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.forwards.Run(ctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// forwardDeployed is what a deploy phase of cfg on cluster tells the port
// forwards once it has deployed: nil when the run forwards nothing.
func (s *session) forwardDeployed(cluster *kubectl.Cluster, cfg *config.Config, modes portforward.Modes) func([]deploy.Resource) {
	if s.forwards == nil || cluster == nil {
		return nil
	}
	dial := portforward.NewDialer(cluster.Config, cluster.Typed)
	return func(deployed []deploy.Resource) {
		s.forwards.Update(cluster.Typed, dial, portforward.Targets(modes, cfg.PortForward, cluster.Namespace, deployed))
	}
}
