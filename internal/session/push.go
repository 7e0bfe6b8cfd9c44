package session

import (
	"context"
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// push is the run's push to an EventSinkService.
type push struct {
	pusher  *rpc.Pusher
	cancel  context.CancelFunc
	address string
	// required makes an unreachable collector and undelivered events
	// errors of the run (event.rpc.required).
	required     bool
	flushTimeout time.Duration
}

// startPush starts pushing the run's events when o, else the config, names
// an address. A required collector that cannot be reached is an error,
// which the run ends with.
func (s *session) startPush(ctx context.Context, o PushOptions, cfg *config.Config) error {
	p := &push{address: o.Address, flushTimeout: o.FlushTimeout}
	if cfg != nil {
		p.address = firstSet(p.address, cfg.Event.RPC.Address)
		p.required = cfg.Event.RPC.Required
	}
	if p.address == "" {
		return nil
	}
	pusher, err := rpc.NewPusher(s.bus, rpc.ClientOptions{Address: p.address, Token: o.Token, CAFile: o.CAFile}, s.log)
	if err != nil {
		return fault.Wrap(err, fault.EventRPCUnreachable, "configuring the event push", "check --event-rpc-ca")
	}
	if p.required {
		if err := pusher.Check(ctx, 10*time.Second); err != nil {
			return fault.Wrap(err, fault.EventRPCUnreachable,
				fmt.Sprintf("the event collector at %s cannot be reached, and event.rpc.required is true", p.address),
				"start the collector (hoist collector), or fix event.rpc.address")
		}
	}
	pushCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.pusher, p.cancel = pusher, cancel
	s.push = p
	go pusher.Run(pushCtx)
	return nil
}

// flushPush waits for the collector to acknowledge every event, at most the
// flush timeout even when ctx is canceled, and stops the push. Undelivered
// events are a warning, and an error when the collector is required.
func (s *session) flushPush(ctx context.Context) error {
	p := s.push
	if p == nil {
		return nil
	}
	undelivered := p.pusher.Flush(context.WithoutCancel(ctx), p.flushTimeout)
	p.cancel()
	if undelivered == 0 {
		return nil
	}
	reason := ""
	if lerr := p.pusher.LastError(); lerr != nil {
		reason = ": " + lerr.Error()
	}
	s.tell("hoist: %d of %d events were not delivered to %s within %s%s\n",
		undelivered, s.bus.Last(), p.address, p.flushTimeout, reason)
	if !p.required {
		return nil
	}
	return fault.New(fault.EventRPCUndelivered,
		fmt.Sprintf("%d events were not delivered to %s", undelivered, p.address),
		"check the collector; raise --event-rpc-flush-timeout for slow links")
}
