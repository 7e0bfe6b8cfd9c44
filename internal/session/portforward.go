package session

import (
	"context"
	"sync"
	"time"

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

// ForwardWait bounds how long a deploy waits for its port forwards to be
// established before its run goes on (a dev loop iteration reports its
// end). Once the status check has passed, a forward takes a few API reads
// and one connection upgrade: tens of milliseconds here, a few hundred
// through a remote cluster's proxy, and a dial that failed is tried again
// after 2s, within the bound. A forward that is not established by then
// waits for something that takes longer (a pod still starting with the
// status check off, a pod the API server cannot reach), and every
// iteration of an IDE that waits for the end would pay for it: it is
// reported when it comes, after the end.
const ForwardWait = 5 * time.Second

// forwardDeployed is what a deploy phase of cfg on cluster tells the port
// forwards once it has deployed: nil when the run forwards nothing. It
// waits, up to ForwardWait, until the forwards are established and their
// portEvents published, as Skaffold forwards before it ends a dev loop
// iteration.
func (s *session) forwardDeployed(cluster *kubectl.Cluster, cfg *config.Config, modes portforward.Modes) func(context.Context, []deploy.Resource) {
	if s.forwards == nil || cluster == nil {
		return nil
	}
	dial := portforward.NewDialer(cluster.Config, cluster.Typed)
	return func(ctx context.Context, deployed []deploy.Resource) {
		settled := s.forwards.Update(cluster.Typed, dial, portforward.Targets(modes, cfg.PortForward, cluster.Namespace, deployed))
		bound := time.NewTimer(ForwardWait)
		defer bound.Stop()
		select {
		case <-settled:
		case <-bound.C:
			s.log.Debug("port forwards not established yet; each is reported when it is", "waited", ForwardWait)
		case <-ctx.Done():
		}
	}
}
