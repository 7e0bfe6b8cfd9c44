// Package session runs each hoist command as one run: it loads the config,
// starts the event bus, the sinks, the Event API server and the push to a
// collector, publishes the metaEvent first and the terminationEvent last,
// and between them runs the command's phases (Build, Run, Deploy, Delete,
// Dev), wiring the concrete builders and deployers into the runner. The
// caller's context is passed to every function and kept by none.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hoist-dev/hoist/internal/config"
	dockerdeploy "github.com/hoist-dev/hoist/internal/deploy/docker"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/portforward"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/runner"
	"github.com/hoist-dev/hoist/internal/skaffoldapi"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/view"
)

// Options are what every command's run shares: the config it reads, where
// its events go, and how they are served and pushed. Each event setting
// left empty is taken from the config's event section, then from the
// defaults.
type Options struct {
	// ConfigFile is the skaffold.yaml to read.
	ConfigFile string
	// Profiles choose the config's profiles.
	Profiles ProfileOptions
	// Format of the events on Out: json (event lines only), text (the
	// human view: live on an interactive terminal, else the timeline and
	// a summary), or auto (text on a terminal, json elsewhere).
	Format string
	// Color is auto, always or never (--color): whether the human view is
	// colored.
	Color string
	// Env is the environment that tells how Out can be drawn on (TERM,
	// CI, NO_COLOR); nil is the process's.
	Env []string
	// Level is the lowest level of the events on Out: debug, info, warn or
	// error.
	Level string
	// LogFile, when set, receives every event as a JSON line.
	LogFile string
	// SkaffoldLogFile, when set, receives every event translated to
	// Skaffold's v1 API as a JSON line, and SkaffoldLogFile+".v2" the
	// same in Skaffold's v2 API, as the run goes.
	SkaffoldLogFile string
	Push            PushOptions
	Server          ServerOptions

	// Out receives the events; Err the messages for the user.
	Out, Err io.Writer
	// Log receives hoist's own logs; nil discards them.
	Log *slog.Logger
}

// ProfileOptions choose which profiles of the config apply (-p,
// --profile-auto-activation), and the cluster that activation.kubeContext
// is matched against.
type ProfileOptions struct {
	// Names are the -p names in order; "-name" deactivates name.
	Names            []string
	NoAutoActivation bool
	// Modules keep only the configs of these names (-m).
	Modules     []string
	Kubeconfig  string
	KubeContext string
}

// configOptions are the config loader's options for command.
func (o Options) configOptions(command string) config.Options {
	return o.Profiles.ConfigOptions(command)
}

// ConfigOptions are the config loader's options for command.
func (p ProfileOptions) ConfigOptions(command string) config.Options {
	return config.Options{Profiles: p.Names, NoAutoActivation: p.NoAutoActivation, Command: command, Modules: p.Modules,
		KubeContext: func() (string, error) { return kubectl.CurrentContext(p.Kubeconfig, p.KubeContext) }}
}

// PushOptions push every event to an EventSinkService, such as hoist
// collector.
type PushOptions struct {
	// Address is host:port or an http(s):// URL.
	Address string
	Token   string
	// CAFile verifies an https:// Address.
	CAFile string
	// FlushTimeout is how long the end of the run waits for the pushed
	// events to be acknowledged.
	FlushTimeout time.Duration
}

// ServerOptions serve the run's Event API.
type ServerOptions struct {
	// Port is the port to serve hoist's and Skaffold's gRPC services on;
	// 0 serves nothing, unless HTTPPort or EnableRPC asks for the API,
	// which is then served on a free port.
	Port int
	// HTTPPort, when set, serves Skaffold's HTTP API (its grpc-gateway
	// paths, /v1/... and /v2/...) on this port.
	HTTPPort int
	// EnableRPC serves the API even without a port: on a free one.
	EnableRPC bool
	// Bind is the address both ports listen on. One that is not loopback
	// needs Token, or Insecure.
	Bind string
	// Token, when set, is required as a bearer token on every request (see
	// rpc.RequireToken).
	Token string
	// Insecure serves a Bind beyond this machine without a Token, with a
	// warning.
	Insecure bool
	// TLSCert and TLSKey, both or neither, serve TLS.
	TLSCert, TLSKey string
	// Linger is how long the server keeps serving late clients after the
	// run ends.
	Linger time.Duration
	// DrainTimeout bounds how long the end of the run waits for the
	// subscribers still streaming to be sent every event; 0 means
	// rpc.DefaultDrainTimeout.
	DrainTimeout time.Duration
	// WaitForConnection waits, at most WaitTimeout, for a first subscriber
	// before the run starts.
	WaitForConnection bool
	WaitTimeout       time.Duration
}

// session is one run of a command: its bus, its sinks, its server and its
// pusher.
type session struct {
	bus    *event.Bus
	cfg    *config.Config
	state  *state.Tracker
	log    *slog.Logger
	errOut io.Writer
	// logs follows the output of the containers the run deploys on a
	// Docker engine, to errOut, until the run ends.
	logs *dockerdeploy.Logs
	// pods follows the logs of the run's pods, when asked to.
	pods *podLogs
	// forwards are the run's port forwards, when it has any.
	forwards *portforward.Forwarder

	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
	// files are the event log files, closed once the sinks are done.
	files []io.Closer
	// live is the live view on stdout, when it is an interactive
	// terminal.
	live *view.Live

	api *rpc.Server
	// skaffold serves Skaffold's v1 and v2 APIs beside api, and its HTTP
	// gateway on gateway.
	skaffold *skaffoldapi.Server
	server   *http.Server
	gateway  *http.Server
	linger   time.Duration
	drain    time.Duration
	control  *rpc.Control
	push     *push
}

// run runs fn as the run of command and returns its outcome. It publishes
// the metaEvent first and the terminationEvent last, whatever happens in
// between: a run whose config is broken, or whose required collector cannot
// be reached, still reports itself, with the event settings of o, and does
// not call fn. Only settings that keep events from being reported at all
// (a wrong --event-format) end it without events. control serves the
// ControlService of hoist dev.
func run(ctx context.Context, o Options, command string, control bool, fn func(ctx context.Context, s *session) error) error {
	cfg, cfgErr := config.Load(o.ConfigFile, o.configOptions(command))
	if cfg != nil && o.Log != nil {
		for _, n := range cfg.Notes {
			o.Log.Warn("upgrading the config: " + n)
		}
	}
	s, err := start(ctx, o, cfg, control)
	if err != nil {
		return err
	}
	pushErr := s.startPush(ctx, o.Push, cfg)
	runner.Start(s.bus, command, cfg)
	err = cfgErr
	if err == nil {
		err = pushErr
	}
	if err == nil {
		err = fn(ctx, s)
	}
	// Nothing is written to errOut, or published, after the run.
	s.logs.Close()
	s.stopPodLogs()
	return s.finish(ctx, err)
}

// The Docker deployer checks the status of its containers itself.
var _ runner.StatusChecker = (*dockerdeploy.Deployer)(nil)

// containerLogs returns the run's follower of container output, made on
// first use.
func (s *session) containerLogs() *dockerdeploy.Logs {
	if s.logs == nil {
		s.logs = dockerdeploy.NewLogs(s.errOut)
	}
	return s.logs
}

// start creates the bus and starts the sinks and the server.
func start(ctx context.Context, o Options, cfg *config.Config, control bool) (*session, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	tuneGC()
	// The run's state is folded in as each event is published: a cheap
	// update in memory, which then never lags behind the run.
	st := state.New()
	opts := []event.Option{event.WithLogger(o.Log), event.OnPublish(st.Apply)}
	if !o.Server.serves() && o.Push.Address == "" && (cfg == nil || cfg.Event.RPC.Address == "") {
		// No subscriber can come late and no push can resend: the sinks,
		// which read from the first event, are the only readers, and the
		// run's history need not be written to disk for anyone.
		opts = append(opts, event.WithoutHistory())
	}
	bus, err := event.New(opts...)
	if err != nil {
		return nil, err
	}
	s := &session{bus: bus, cfg: cfg, log: o.Log, errOut: o.Err, state: st}
	if control {
		s.control = &rpc.Control{}
	}
	s.prepareServer(o, cfg, control)
	if err := s.startSinks(ctx, o, cfg); err != nil {
		s.abort()
		return nil, err
	}
	if err := s.startServer(ctx, o.Server); err != nil {
		s.abort()
		return nil, err
	}
	return s, nil
}

// gcPercent is the garbage collector's target for a run, unless GOGC
// says otherwise: a run allocates short-lived events at a high rate over
// a small live heap (the bus's memory ring), so collecting when it has
// grown by 150% rather than 100% costs a few MiB and saves some of the
// run's CPU, while a run of millions of lines stays under 80 MiB.
const gcPercent = 150

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// abort stops a run that could not start, before its first event: what
// closing fails on then is of no interest beside what kept it from
// starting.
func (s *session) abort() {
	_ = s.bus.Close()
	s.wg.Wait()
	if s.live != nil {
		_ = s.live.Close()
	}
	for _, f := range s.files {
		_ = f.Close()
	}
}

// startSinks starts the stdout stream, the event log file and the state,
// with the settings of o, else of the config, else the defaults.
func (s *session) startSinks(ctx context.Context, o Options, cfg *config.Config) error {
	format, level, file := o.Format, o.Level, o.LogFile
	if cfg != nil {
		format = firstSet(format, cfg.Event.Log.Format)
		level = firstSet(level, cfg.Event.Log.Level)
		file = firstSet(file, cfg.Event.Log.File)
	}
	lvl, err := event.ParseLevel(level)
	if err != nil {
		return usageError("--event-level: %v", err)
	}
	out, err := s.stdout(o, format, lvl)
	if err != nil {
		return err
	}
	if file != "" {
		f, err := sink.OpenFile(file)
		if err != nil {
			return fault.Wrap(err, fault.EventLogFileFailed,
				"opening the event log file", "check that its folder is writable, or change --event-log-file")
		}
		s.files = append(s.files, f)
		s.follow(ctx, f)
	}
	if o.SkaffoldLogFile != "" {
		if err := s.openSkaffoldLog(ctx, o, cfg); err != nil {
			return err
		}
	}
	s.follow(ctx, out)
	return nil
}

// stdout returns the sink of Out for format: JSON lines; or the human
// view, live on an interactive terminal, else plain lines; auto (and no
// format) is the view on a terminal and JSON lines elsewhere. On an
// interactive terminal, what the run writes to Err goes above the live
// lines.
func (s *session) stdout(o Options, format string, lvl slog.Level) (sink.Sink, error) {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	tty := view.IsTerminal(o.Out)
	format, err := view.ChooseFormat(format, tty)
	if err != nil {
		return nil, usageError("--event-format: %v", err)
	}
	color, err := view.ParseColor(o.Color)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if format == view.FormatJSON {
		return sink.NewStream(o.Out, sink.JSON, lvl, false)
	}
	opts := view.Options{Color: color.Use(tty, env), Level: lvl}
	if s.cfg != nil {
		opts.Logs = event.LogFormat{Prefix: s.cfg.Deploy.Logs.Prefix, Fields: s.cfg.Deploy.Logs.JSONParse.Fields}
	}
	if !tty || !view.Interactive(env) {
		return view.NewPlain(o.Out, opts), nil
	}
	live := view.NewLive(o.Out, view.LiveOptions{Options: opts})
	s.live = live
	if view.IsTerminal(o.Err) {
		s.errOut = live.Around(o.Err)
	}
	return live, nil
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// follow runs a sink until the run ends. Sinks outlive a canceled context:
// they stop only after the terminationEvent.
func (s *session) follow(ctx context.Context, snk sink.Sink) {
	ctx = context.WithoutCancel(ctx)
	// Subscribed before the run's first event: on a bus without history,
	// a sink that subscribed late would find the first events gone.
	feed := sink.Start(s.bus, snk)
	s.wg.Go(func() {
		if err := feed(ctx); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	})
}

// finish publishes the terminationEvent for err, waits for the sinks to
// write everything and for the collector to acknowledge it, stops the
// server and returns the run's outcome: err, or else what kept the events
// from where they had to go.
func (s *session) finish(ctx context.Context, err error) error {
	runner.Finish(s.bus, err)
	s.wg.Wait()
	if s.live != nil {
		// Drawn its last frame at the terminationEvent, unless writing
		// to the terminal failed, which the sink has reported.
		_ = s.live.Close()
	}
	if perr := s.flushPush(ctx); err == nil {
		err = perr
	}
	s.stopServer(ctx)
	for _, f := range s.files {
		if cerr := f.Close(); cerr != nil {
			s.errs = append(s.errs, cerr)
		}
	}
	if cerr := s.bus.Close(); cerr != nil {
		s.log.Debug("closing the event bus", "err", cerr)
	}
	if sinkErr := errors.Join(s.errs...); sinkErr != nil {
		s.tell("warning: writing events: %v\n", sinkErr)
		if err == nil {
			err = fault.Wrap(sinkErr, fault.EventLogFileFailed, "writing events")
		}
	}
	return err
}

// tell writes a message for the user. One that cannot be written is not
// worth failing the run for.
func (s *session) tell(format string, args ...any) {
	_, _ = fmt.Fprintf(s.errOut, format, args...)
}

func usageError(format string, args ...any) error {
	return fault.New(fault.UsageInvalid, fmt.Sprintf(format, args...), "see hoist --help")
}
