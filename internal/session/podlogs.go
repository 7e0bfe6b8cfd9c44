package session

import (
	"context"

	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/deploy/podlogs"
	"github.com/hoist-dev/hoist/internal/runner"
)

// podLogs follows the logs of the run's pods, from its first deploy with
// --tail (hoist dev's by default) until the run ends.
type podLogs struct {
	follower *podlogs.Follower
	stop     context.CancelFunc
	done     chan struct{}
}

// podLogs returns the run's follower of pod logs on cluster, started on
// first use. It follows the pods labelled with the run's id, and stops
// when ctx is done or the run ends.
func (s *session) podLogs(ctx context.Context, cluster *kubectl.Cluster) *podlogs.Follower {
	if s.pods != nil {
		return s.pods.follower
	}
	f := podlogs.New(podlogs.Options{Client: cluster.Typed, Selector: kubectl.RunIDLabel + "=" + s.bus.RunID(),
		Emit: runner.ApplicationLogs(s.bus), Log: s.log})
	ctx, stop := context.WithCancel(ctx)
	p := &podLogs{follower: f, stop: stop, done: make(chan struct{})}
	s.pods = p
	go func() {
		defer close(p.done)
		f.Run(ctx)
	}()
	return f
}

// stopPodLogs stops following the pods' logs and waits until the last
// line read is published: nothing is published after the run's end.
func (s *session) stopPodLogs() {
	if s.pods == nil {
		return
	}
	s.pods.stop()
	<-s.pods.done
}
