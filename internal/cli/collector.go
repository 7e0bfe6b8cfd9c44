package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/collector"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/fault"
)

type collectorOptions struct {
	listen        string
	store         string
	token         string
	tlsCert       string
	tlsKey        string
	retain        string
	maxRuns       int
	maxEventBytes int
}

func newCollector(s Streams, logger func() *slog.Logger) *cobra.Command {
	o := &collectorOptions{}
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
		RunE: func(cmd *cobra.Command, _ []string) error { return runCollector(cmd.Context(), s, o, logger()) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:50051", "address to serve on (host:port); loopback unless you choose otherwise")
	f.StringVar(&o.store, "store", "", "where to keep events: a SQLite file path (sqlite:///path) or a postgres:// URL (default: collector.db under the user's data directory)")
	f.StringVar(&o.token, "token", os.Getenv("HOIST_TOKEN"), "require this bearer token on every request, pushes and reads (default $HOIST_TOKEN)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM); needs --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	f.StringVar(&o.retain, "retain", "", "delete runs with no event for this long, e.g. 30d or 12h (default: keep)")
	f.IntVar(&o.maxRuns, "max-runs", 0, "keep at most this many runs, deleting the oldest (default: no limit)")
	f.IntVar(&o.maxEventBytes, "max-event-bytes", collector.DefaultMaxEventBytes, "refuse pushed events larger than this")
	return cmd
}

// parseRetention reads a duration that may also be given in days: 30d.
func parseRetention(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err == nil && n > 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, usageError("--retain %q: give a positive duration such as 30d, 36h or 90m", v)
}

// defaultStore is collector.db under the user's data directory.
func defaultStore() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "hoist", "collector.db"), nil
}

func runCollector(ctx context.Context, s Streams, o *collectorOptions, log *slog.Logger) (err error) {
	// A message that cannot be written is not worth stopping the collector.
	tell := func(format string, args ...any) { _, _ = fmt.Fprintf(s.Err, format, args...) }
	retain, err := parseRetention(o.retain)
	if err != nil {
		return err
	}
	if o.maxRuns < 0 {
		return usageError("--max-runs must not be negative")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	var tlsCfg *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fault.Wrap(err, fault.CollectorTLSInvalid, "loading the TLS certificate and key",
				"check --tls-cert and --tls-key: PEM files of a certificate and its private key")
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	where := o.store
	if where == "" {
		if where, err = defaultStore(); err != nil {
			return usageError("no --store given and no home directory for the default: %v", err)
		}
	}
	st, err := store.Open(ctx, where)
	if err != nil {
		return fault.Wrap(err, fault.CollectorStoreFailed, "opening the collector's store",
			"check --store: a writable SQLite file path, or a postgres:// URL of a reachable database")
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fault.Wrap(cerr, fault.CollectorStoreFailed, "closing the collector's store")
		}
	}()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fault.Wrap(err, fault.CollectorListen, fmt.Sprintf("listening on %s", o.listen),
			"choose a free address with --listen")
	}
	if host, _, _ := net.SplitHostPort(o.listen); !isLoopback(host) {
		if o.token == "" {
			tell("hoist collector: warning: serving %s beyond this machine without --token: anyone who reaches it can push and read events\n", ln.Addr())
		}
		if tlsCfg == nil {
			tell("hoist collector: warning: serving %s beyond this machine without TLS: tokens and events cross the network in clear\n", ln.Addr())
		}
	}
	c := collector.New(st, collector.Options{Token: o.token, Retain: retain, MaxRuns: o.maxRuns,
		MaxEventBytes: o.maxEventBytes, Secure: tlsCfg != nil, Log: log})
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	tell("hoist collector: storing events in %s (%s)\n", redact(where), st.Dialect())
	tell("hoist collector: serving on %s://%s (dashboard at %s://%s/)\n", scheme, ln.Addr(), scheme, ln.Addr())
	if err := c.Serve(ctx, ln, tlsCfg); err != nil {
		return fault.Wrap(err, fault.CollectorListen, "serving")
	}
	tell("hoist collector: stopped\n")
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact hides a password in a store URL.
func redact(store string) string {
	if u, err := url.Parse(store); err == nil && u.User != nil {
		return u.Redacted()
	}
	return store
}
