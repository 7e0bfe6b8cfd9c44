package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/runner"
	"github.com/hoist-dev/hoist/internal/state"
)

// session is one run of a command: its bus, its sinks and its lifecycle
// events. Every session starts with a metaEvent and ends with a
// terminationEvent, whatever happens in between.
type session struct {
	bus   *event.Bus
	state *state.Tracker
	log   *slog.Logger
	s     Streams
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	files []*sink.File

	ctx          context.Context
	server       *http.Server
	control      *rpc.Control
	linger       time.Duration
	pusher       *rpc.Pusher
	pushAddress  string
	pushRequired bool
	pushCancel   context.CancelFunc
	flushTimeout time.Duration
	startErr     error
}

// startSession creates the bus and starts the sinks for command. cfg and
// cfgErr are the outcome of loading the config: a run whose config is broken
// still reports itself, with the event settings of the flags.
func startSession(ctx context.Context, s Streams, log *slog.Logger, command string, cfg *config.Config, opts eventOptions) (*session, error) {
	bus, err := event.New(event.WithLogger(log))
	if err != nil {
		return nil, err
	}
	ss := &session{bus: bus, log: log, s: s, state: state.New(), ctx: ctx, flushTimeout: opts.flushTimeout}
	format, level, file := opts.format, opts.level, opts.logFile
	if cfg != nil {
		format = firstSet(format, cfg.Event.Log.Format)
		level = firstSet(level, cfg.Event.Log.Level)
		file = firstSet(file, cfg.Event.Log.File)
	}
	format = firstSet(format, config.DefaultLogFormat)
	lvl, err := event.ParseLevel(level)
	if err != nil {
		bus.Close()
		return nil, usageError("--event-level: %v", err)
	}
	stream, err := sink.NewStream(s.Out, sink.Format(format), lvl, isTerminal(s.Out))
	if err != nil {
		bus.Close()
		return nil, usageError("--event-format: %v", err)
	}
	if file != "" {
		f, err := sink.OpenFile(file)
		if err != nil {
			bus.Close()
			return nil, fault.Wrap(err, fault.EventLogFileFailed,
				"opening the event log file", "check that its folder is writable, or change --event-log-file")
		}
		ss.files = append(ss.files, f)
		ss.follow(ctx, f)
	}
	ss.follow(ctx, stream)
	ss.follow(ctx, stateSink{ss.state})
	if opts.server.control {
		ss.control = &rpc.Control{}
	}
	if err := ss.startServer(ctx, opts.server); err != nil {
		bus.Close()
		return nil, err
	}
	ss.pushAddress = opts.pushAddress
	if cfg != nil {
		ss.pushAddress = firstSet(ss.pushAddress, cfg.Event.RPC.Address)
		ss.pushRequired = cfg.Event.RPC.Required
	}
	if ss.pushAddress != "" {
		ss.startErr = ss.startPush(ctx, rpc.ClientOptions{Address: ss.pushAddress, Token: opts.pushToken, CAFile: opts.pushCA})
	}
	runner.Start(bus, command, cfg)
	return ss, nil
}

// begin loads the config and starts the session of a command. A nil
// session means nothing could start (a wrong flag); otherwise a non-nil
// error is what keeps the run from starting, and the caller ends the
// session with it, so that even a run with a broken config reports itself.
func begin(ctx context.Context, s Streams, log *slog.Logger, command, file string, opts eventOptions) (*session, *config.Config, error) {
	cfg, cfgErr := config.Load(file)
	ss, err := startSession(ctx, s, log, command, cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	return ss, cfg, ss.ready(cfgErr)
}

// ready returns what keeps the run from starting: the config's error, or
// a required collector that cannot be reached.
func (ss *session) ready(cfgErr error) error {
	if cfgErr != nil {
		return cfgErr
	}
	return ss.startErr
}

// startPush starts pushing the run's events to an EventSinkService.
func (ss *session) startPush(ctx context.Context, o rpc.ClientOptions) error {
	p, err := rpc.NewPusher(ss.bus, o, ss.log)
	if err != nil {
		return fault.Wrap(err, fault.EventRPCUnreachable, "configuring the event push", "check --event-rpc-ca")
	}
	if ss.pushRequired {
		if err := p.Check(ctx, 10*time.Second); err != nil {
			return fault.Wrap(err, fault.EventRPCUnreachable,
				fmt.Sprintf("the event collector at %s cannot be reached, and event.rpc.required is true", o.Address),
				"start the collector (hoist collector), or fix event.rpc.address")
		}
	}
	pushCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ss.pusher, ss.pushCancel = p, cancel
	go p.Run(pushCtx)
	return nil
}

// stateSink folds events into the run's state for GetState.
type stateSink struct{ t *state.Tracker }

func (s stateSink) Write(env *pb.Envelope) error { s.t.Apply(env); return nil }
func (s stateSink) Flush() error                 { return nil }

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// follow runs a sink until the run ends. Sinks outlive a canceled context:
// they stop only after the terminationEvent.
func (ss *session) follow(ctx context.Context, snk sink.Sink) {
	ctx = context.WithoutCancel(ctx)
	ss.wg.Go(func() {
		if err := sink.Run(ctx, ss.bus, snk); err != nil {
			ss.mu.Lock()
			ss.errs = append(ss.errs, err)
			ss.mu.Unlock()
		}
	})
}

// finish publishes the terminationEvent for err, waits for the sinks to
// write everything, reports err on stderr and returns it.
func (ss *session) finish(err error) error {
	runner.Finish(ss.bus, err)
	ss.wg.Wait()
	if ss.pusher != nil {
		undelivered := ss.pusher.Flush(context.Background(), ss.flushTimeout)
		ss.pushCancel()
		if undelivered > 0 {
			reason := ""
			if lerr := ss.pusher.LastError(); lerr != nil {
				reason = ": " + lerr.Error()
			}
			fmt.Fprintf(ss.s.Err, "hoist: %d of %d events were not delivered to %s within %s%s\n",
				undelivered, ss.bus.Last(), ss.pushAddress, ss.flushTimeout, reason)
			if ss.pushRequired && err == nil {
				err = fault.New(fault.EventRPCUndelivered,
					fmt.Sprintf("%d events were not delivered to %s", undelivered, ss.pushAddress),
					"check the collector; raise --event-rpc-flush-timeout for slow links")
			}
		}
	}
	ss.stopServer(ss.ctx)
	for _, f := range ss.files {
		if cerr := f.Close(); cerr != nil {
			ss.errs = append(ss.errs, cerr)
		}
	}
	ss.bus.Close()
	if sinkErr := errors.Join(ss.errs...); sinkErr != nil {
		fmt.Fprintf(ss.s.Err, "warning: writing events: %v\n", sinkErr)
		if err == nil {
			err = fault.Wrap(sinkErr, fault.EventLogFileFailed, "writing events")
		}
	}
	return err
}
