package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/status"
	"github.com/hoist-dev/hoist/internal/fault"
)

// pollInterval is how often the status check inspects a container: the
// engine is local, and an inspect is cheap.
const pollInterval = 200 * time.Millisecond

// tailLines is how many of its last lines a failed container's error
// quotes.
const tailLines = 10

// settle is how long a container without a health check must be seen
// running to be ready: long enough for one that fails as it starts (a
// missing file, a wrong command) to have exited.
const settle = time.Second

var errDeadline = errors.New("status check deadline exceeded")

// CheckStatus waits until every container of resources runs (for a
// second, when it has no HEALTHCHECK), and is healthy when its image or
// config has a HEALTHCHECK, reporting each
// change as container/NAME. A container that exits fails the check with
// its exit code and its last lines of output, as does one whose health
// check reports it unhealthy (unless o.TolerateFailures, which waits for
// it to recover until the deadline). The first failure ends the check.
// report is called by one container's wait at a time.
func (d *Deployer) CheckStatus(ctx context.Context, resources []deploy.Resource, o status.Options, report func(status.Update)) error {
	ctx, cancel := context.WithTimeoutCause(ctx, o.Deadline, errDeadline)
	defer cancel()
	var mu sync.Mutex
	serial := func(u status.Update) {
		mu.Lock()
		defer mu.Unlock()
		report(u)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range resources {
		if r.Kind != containerKind {
			continue
		}
		w := &waiter{d: d, name: r.Name, o: o, report: serial}
		g.Go(func() error { return w.run(gctx, ctx) })
	}
	return g.Wait()
}

// waiter follows one container until it is ready or failed.
type waiter struct {
	d      *Deployer
	name   string
	o      status.Options
	report func(status.Update)
	last   string
	// since is when the container, started at started (the engine's
	// time), was first seen running.
	since   time.Time
	started string
}

func (w *waiter) id() string { return "container/" + w.name }

// run polls the container until it is ready, fails or ctx is done; check
// is the whole check's context, which tells the deadline from another
// container's failure.
func (w *waiter) run(ctx, check context.Context) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		ready, msg, err := w.evaluate(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return w.stopped(ctx, check)
		case err != nil:
			w.report(status.Update{Resource: w.id(), State: status.Failed, Message: err.Error(), Err: err})
			return err
		case ready:
			w.report(status.Update{Resource: w.id(), State: status.Ready, Message: msg})
			return nil
		case msg != w.last:
			w.last = msg
			w.report(status.Update{Resource: w.id(), State: status.InProgress, Message: msg})
		}
		select {
		case <-ctx.Done():
			return w.stopped(ctx, check)
		case <-t.C:
		}
	}
}

// stopped is the end of a wait cut short: a failure at the deadline, else
// the reason the check stopped.
func (w *waiter) stopped(ctx, check context.Context) error {
	if !errors.Is(context.Cause(check), errDeadline) {
		return ctx.Err()
	}
	err := fault.New(fault.StatusCheckDeadline,
		fmt.Sprintf("%s was not ready within %s: %s", w.id(), w.o.Deadline, w.last),
		"raise deploy.statusCheckDeadlineSeconds, or read the container's output (docker logs "+w.name+") to see why it is not ready")
	w.report(status.Update{Resource: w.id(), State: status.Failed, Message: err.Error(), Err: err})
	return err
}

// evaluate tells whether the container is ready, how it progresses, or
// why it failed for good.
func (w *waiter) evaluate(ctx context.Context) (bool, string, error) {
	c, err := w.d.Client.ContainerInspect(ctx, w.name)
	switch {
	case cerrdefs.IsNotFound(err):
		return false, "", fault.New(fault.StatusCheckFailed, w.id()+" was removed while hoist waited for it",
			"something else removed it: deploy again")
	case err != nil:
		return false, "", fault.Wrap(err, fault.StatusCheckFailed, "inspecting "+w.id(), "check that the Docker engine still answers")
	}
	st := c.State
	if st == nil {
		return false, "waiting for the engine to report the container's state", nil
	}
	switch {
	case st.Status == container.StateExited || st.Status == container.StateDead:
		return false, "", w.exited(ctx, c)
	case st.Running && !st.Restarting && !st.Paused:
	default:
		return false, "container is " + string(st.Status), nil
	}
	ports := ""
	if c.NetworkSettings != nil {
		if p := published(c.NetworkSettings.Ports); p != "" {
			ports = "; published " + p
		}
	}
	h := st.Health
	if h == nil || h.Status == container.NoHealthcheck || h.Status == "" {
		if w.since.IsZero() || w.started != st.StartedAt {
			w.since, w.started = time.Now(), st.StartedAt
		}
		if time.Since(w.since) < settle {
			return false, "running, making sure it stays up", nil
		}
		return true, "running" + ports, nil
	}
	switch h.Status {
	case container.Healthy:
		return true, "running and healthy" + ports, nil
	case container.Unhealthy:
		msg := "unhealthy" + lastProbe(h)
		if w.o.TolerateFailures {
			return false, msg, nil
		}
		return false, "", fault.New(fault.StatusCheckFailed, fmt.Sprintf("%s is %s", w.id(), msg),
			"its HEALTHCHECK fails: read its output with docker logs "+w.name+", or set deploy.tolerateFailuresUntilDeadline to wait for it to recover")
	}
	return false, "running, waiting for the health check" + lastProbe(h), nil
}

// exited is the failure of a container that stopped: its exit code, and
// the last lines it printed.
func (w *waiter) exited(ctx context.Context, c container.InspectResponse) error {
	st := c.State
	msg := fmt.Sprintf("%s exited with code %d", w.id(), st.ExitCode)
	if st.OOMKilled {
		msg += " (out of memory)"
	}
	if st.Error != "" {
		msg += ": " + st.Error
	}
	if tail := lastLines(ctx, w.d.Client, c.ID, tailLines); len(tail) > 0 {
		msg += "; last output: " + strings.Join(tail, " | ")
	}
	return fault.New(fault.StatusCheckFailed, msg,
		"a deployed container must keep running: read its output with docker logs "+w.name)
}

// lastProbe is the output of the latest health probe, when it printed one.
func lastProbe(h *container.Health) string {
	if len(h.Log) == 0 {
		return ""
	}
	p := h.Log[len(h.Log)-1]
	out := strings.Join(strings.Fields(p.Output), " ")
	if out == "" {
		return fmt.Sprintf(" (last probe exited %d)", p.ExitCode)
	}
	return fmt.Sprintf(" (last probe exited %d: %s)", p.ExitCode, out)
}
