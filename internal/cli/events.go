package cli

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/session"
)

func newEvents(s Streams) *cobra.Command {
	var o session.EventsOptions
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the events of a run, from a running hoist, a collector or an event log file",
		Example: `  hoist events --address 127.0.0.1:50052 --follow --output text
  hoist events --file events.jsonl --type buildEvent --status FAILED`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out, o.Err = s.Out, s.Err
			return session.Events(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Address, "address", "", "Event API to read from: a hoist started with --rpc-port, or a collector (host:port or an http(s):// URL)")
	f.BoolVar(&o.Follow, "follow", false, "with --address, keep printing live events until the run ends")
	f.StringVar(&o.RunID, "run", "", "with --address, the run (event_id) to read; a collector holds many")
	f.StringVar(&o.Token, "token", firstEnv("HOIST_TOKEN", "HOIST_RPC_TOKEN"),
		"bearer token for --address: the collector's --token, or the run's --rpc-token (default $HOIST_TOKEN, else $HOIST_RPC_TOKEN)")
	f.StringVar(&o.CAFile, "ca", "", "CA bundle that verifies an https:// --address (a collector's --tls-cert, a run's --rpc-tls-cert)")
	f.StringVar(&o.File, "file", "", "event log file to read (written by --event-log-file)")
	f.StringVarP(&o.Output, "output", "o", "json", "json (one event per line) or text (a readable timeline)")
	f.Uint32Var(&o.After, "after", 0, "only events after this sequence")
	f.StringSliceVar(&o.Types, "type", nil, "only these payload types: "+strings.Join(event.PayloadTypes, ", "))
	f.StringSliceVar(&o.Images, "image", nil, "only build events of these images")
	f.StringSliceVar(&o.Statuses, "status", nil, "only events with these statuses: "+strings.Join(event.Statuses, ", "))
	return cmd
}

// firstEnv is the first of the environment variables names that is set.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
