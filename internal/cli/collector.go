package cli

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/collector"
)

func newCollector(s Streams, logger func() *slog.Logger) *cobra.Command {
	var o collector.RunOptions
	cmd := &cobra.Command{
		Use:   "collector",
		Short: "Receive events pushed by many runs, store them, and serve them with a web dashboard",
		Long: `hoist collector is the server that runs push their events to
(event.rpc.address or --event-rpc-address). It acknowledges each event once
it is durable, stores each (run, sequence) once, and serves what it holds on
the same port: the Event API (hoist events --address), the CollectorService
(ListRuns, GetRun, Feed), JSON over plain HTTP, and a live dashboard at /.

The store is SQLite by default, a file under the user's data directory;
--store postgres://... lets several collectors share one PostgreSQL database.`,
		Example: `  hoist collector
  hoist collector --listen 0.0.0.0:50051 --token "$TOKEN" --tls-cert cert.pem --tls-key key.pem
  hoist collector --store postgres://hoist@db.internal/hoist --retain 30d --max-runs 10000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Err, o.Log = s.Err, logger()
			return collector.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:50051", "address to serve on (host:port); loopback unless you choose otherwise")
	f.StringVar(&o.Store, "store", "", "where to keep events: a SQLite file path (sqlite:///path) or a postgres:// URL (default: collector.db under the user's data directory)")
	f.StringVar(&o.Token, "token", os.Getenv("HOIST_TOKEN"), "require this bearer token on every request, pushes and reads (default $HOIST_TOKEN)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "serve TLS with this certificate (PEM); needs --tls-key")
	f.StringVar(&o.TLSKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	f.StringVar(&o.Retain, "retain", "", "delete runs with no event for this long, e.g. 30d or 12h (default: keep)")
	f.IntVar(&o.MaxRuns, "max-runs", 0, "keep at most this many runs, deleting the oldest (default: no limit)")
	f.IntVar(&o.MaxEventBytes, "max-event-bytes", collector.DefaultMaxEventBytes, "refuse pushed events larger than this")
	return cmd
}
