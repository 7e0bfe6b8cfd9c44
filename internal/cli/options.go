package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/fault"
)

// configOptions are the flags that locate skaffold.yaml.
type configOptions struct {
	filename string
}

func (o *configOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.filename, "filename", "f", "skaffold.yaml", "path to the skaffold.yaml to use")
}

// eventOptions are the flags that override the config's event section.
type eventOptions struct {
	format       string
	level        string
	logFile      string
	pushAddress  string
	pushToken    string
	pushCA       string
	flushTimeout time.Duration
	server       serverOptions
}

// serverOptions start the Event API server of a run.
type serverOptions struct {
	port        int
	bind        string
	linger      time.Duration
	waitConnect bool
	waitTimeout time.Duration
	// control serves the ControlService too (hoist dev).
	control bool
}

func (o *eventOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.format, "event-format", "", "events on stdout: json (event lines only; logs go to stderr) or text (default from event.log.format, else json)")
	f.StringVar(&o.level, "event-level", "", "lowest event level on stdout: debug, info, warn, error (default from event.log.level, else info)")
	f.StringVar(&o.logFile, "event-log-file", "", "append every event to this file as JSON lines, as it happens (default from event.log.file)")
	f.StringVar(&o.pushAddress, "event-rpc-address", "", "push every event to this EventSinkService, such as hoist collector: host:port, or an http(s):// URL (default from event.rpc.address)")
	f.StringVar(&o.pushToken, "event-rpc-token", os.Getenv("HOIST_EVENT_RPC_TOKEN"), "bearer token for --event-rpc-address (default $HOIST_EVENT_RPC_TOKEN)")
	f.StringVar(&o.pushCA, "event-rpc-ca", "", "CA bundle that verifies an https:// --event-rpc-address")
	f.DurationVar(&o.flushTimeout, "event-rpc-flush-timeout", 10*time.Second, "at exit, how long to wait for the pushed events to be acknowledged")
}

// addServerFlags adds the flags of the Event API server.
func (o *eventOptions) addServerFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	s := &o.server
	f.IntVar(&s.port, "rpc-port", 0, "serve the Event API (gRPC, and JSON over HTTP) on this port; 0 serves none")
	f.StringVar(&s.bind, "rpc-bind", "127.0.0.1", "address the Event API listens on")
	f.DurationVar(&s.linger, "rpc-linger", 3*time.Second, "after the run ends, keep serving the Event API this long for late clients")
	f.BoolVar(&s.waitConnect, "wait-for-connection", false, "before starting, wait for a first Event API subscriber (see --wait-for-connection-timeout)")
	f.DurationVar(&s.waitTimeout, "wait-for-connection-timeout", time.Minute, "how long --wait-for-connection waits")
}

func usageError(format string, args ...any) error {
	return fault.New(fault.UsageInvalid, fmt.Sprintf(format, args...), "see hoist --help")
}
