package collector

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// RunOptions are the settings of hoist collector, as its flags give them.
type RunOptions struct {
	// Listen is the host:port to serve on.
	Listen string
	// Store is a SQLite path (or sqlite:// URL) or a postgres:// URL; empty
	// means collector.db under the user's data directory.
	Store string
	// Token, when set, is required on every request.
	Token string
	// TLSCert and TLSKey, both or neither, serve TLS.
	TLSCert, TLSKey string
	// Retain is how long runs are kept after their last event, such as
	// "30d" or "12h"; empty keeps them.
	Retain        string
	MaxRuns       int
	MaxEventBytes int
	// Err receives what the collector tells its operator: where it stores,
	// where it serves, and warnings.
	Err io.Writer
	Log *slog.Logger
}

// Run opens the store, listens and serves until ctx is done.
func Run(ctx context.Context, o RunOptions) (err error) {
	// A message that cannot be written is not worth stopping the collector.
	tell := func(format string, args ...any) { _, _ = fmt.Fprintf(o.Err, format, args...) }
	retain, err := ParseRetention(o.Retain)
	if err != nil {
		return err
	}
	if o.MaxRuns < 0 {
		return fault.New(fault.UsageInvalid, "--max-runs must not be negative", "give 0 to keep every run")
	}
	tlsCfg, err := loadTLS(o.TLSCert, o.TLSKey)
	if err != nil {
		return err
	}
	where := o.Store
	if where == "" {
		if where, err = DefaultStore(); err != nil {
			return fault.Wrap(err, fault.UsageInvalid, "no --store given and no home directory for the default", "give --store")
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
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fault.Wrap(err, fault.CollectorListen, fmt.Sprintf("listening on %s", o.Listen),
			"choose a free address with --listen")
	}
	if host, _, _ := net.SplitHostPort(o.Listen); !rpc.IsLoopback(host) {
		if o.Token == "" {
			tell("hoist collector: warning: serving %s beyond this machine without --token: anyone who reaches it can push and read events\n", ln.Addr())
		}
		if tlsCfg == nil {
			tell("hoist collector: warning: serving %s beyond this machine without TLS: tokens and events cross the network in clear\n", ln.Addr())
		}
	}
	c := New(st, Options{Token: o.Token, Retain: retain, MaxRuns: o.MaxRuns,
		MaxEventBytes: o.MaxEventBytes, Secure: tlsCfg != nil, Log: o.Log})
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

// loadTLS reads a certificate and its key; neither means no TLS.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, fault.New(fault.UsageInvalid, "--tls-cert and --tls-key go together", "give both, or neither")
	}
	if certFile == "" {
		return nil, nil
	}
	cfg, err := rpc.LoadServerTLS(certFile, keyFile)
	if err != nil {
		return nil, fault.Wrap(err, fault.CollectorTLSInvalid, "loading the TLS certificate and key",
			"check --tls-cert and --tls-key: PEM files of a certificate and its private key")
	}
	return cfg, nil
}

// ParseRetention reads a duration that may also be given in days: 30d.
// Empty means keep everything (0).
func ParseRetention(v string) (time.Duration, error) {
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
	return 0, fault.New(fault.UsageInvalid, fmt.Sprintf("--retain %q is not a positive duration", v),
		"give a duration such as 30d, 36h or 90m")
}

// DefaultStore is collector.db under the user's data directory.
func DefaultStore() (string, error) {
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

// redact hides a password in a store URL.
func redact(store string) string {
	if u, err := url.Parse(store); err == nil && u.User != nil {
		return u.Redacted()
	}
	return store
}
