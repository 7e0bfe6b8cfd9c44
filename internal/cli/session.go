package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/term"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
)

// session is one run of a command: its bus, its sinks and its lifecycle
// events. Every session starts with a metaEvent and ends with a
// terminationEvent, whatever happens in between.
type session struct {
	bus   *event.Bus
	log   *slog.Logger
	s     Streams
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	files []*sink.File
}

// startSession creates the bus and starts the sinks for command. cfg and
// cfgErr are the outcome of loading the config: a run whose config is broken
// still reports itself, with the event settings of the flags.
func startSession(ctx context.Context, s Streams, log *slog.Logger, command string, cfg *config.Config, opts eventOptions) (*session, error) {
	bus, err := event.New(event.WithLogger(log))
	if err != nil {
		return nil, err
	}
	ss := &session{bus: bus, log: log, s: s}
	format, level, file := opts.format, opts.level, opts.logFile
	if cfg != nil {
		format = cmp(format, cfg.Event.Log.Format)
		level = cmp(level, cfg.Event.Log.Level)
		file = cmp(file, cfg.Event.Log.File)
	}
	format = cmp(format, config.DefaultLogFormat)
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
			return nil, fault.Wrap(err, fault.EventLogFileFailed, fault.ExitEvents,
				"opening the event log file", "check that its folder is writable, or change --event-log-file")
		}
		ss.files = append(ss.files, f)
		ss.follow(ctx, f)
	}
	ss.follow(ctx, stream)
	runner.Start(bus, command, cfg)
	return ss, nil
}

func cmp(a, b string) string {
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
	for _, f := range ss.files {
		if cerr := f.Close(); cerr != nil {
			ss.errs = append(ss.errs, cerr)
		}
	}
	ss.bus.Close()
	if sinkErr := errors.Join(ss.errs...); sinkErr != nil {
		fmt.Fprintf(ss.s.Err, "warning: writing events: %v\n", sinkErr)
		if err == nil {
			err = fault.Wrap(sinkErr, fault.EventLogFileFailed, fault.ExitEvents, "writing events")
		}
	}
	return err
}
