// Package cli holds hoist's commands, one file each. A command parses its
// flags into the options of one library function and calls it: the
// functions of internal/session run builds, deploys and the dev loop, and
// print a run's events; collector.Run serves hoist collector.
package cli

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Streams are the IO streams of a command, injected so tests can read them.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// StdStreams are the process's standard streams.
func StdStreams() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// NewRoot returns the hoist command with its subcommands.
func NewRoot(s Streams) *cobra.Command {
	var verbosity string
	root := &cobra.Command{
		Use:   "hoist",
		Short: "Build container images, deploy them to Kubernetes, and report every step as events",
		Long: `hoist builds container images, deploys them to Kubernetes and reports every
step of that work as a typed, ordered event stream (the Skaffold Event API):
JSON lines on stdout, an event log file, a gRPC stream and a gRPC push.
It reads skaffold.yaml.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.PersistentFlags().StringVarP(&verbosity, "verbosity", "v", "warn", "level of hoist's own logs on stderr: debug, info, warn, error")
	root.PersistentFlags().String("color", "auto", "color the human view of events: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always or never; "+
		"a number, Skaffold's ANSI color code, means auto")
	root.PersistentFlags().Bool("force-colors", false, "always color (Skaffold's --force-colors; same as --color=always)")
	_ = root.PersistentFlags().MarkHidden("force-colors") // the flag was just added
	logger := func() *slog.Logger {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(verbosity)); err != nil {
			lvl = slog.LevelWarn
		}
		return slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: lvl}))
	}
	root.AddCommand(
		newVersion(s),
		newDiagnose(s),
		newFix(s),
		newBuild(s, logger),
		newRun(s, logger),
		newDeploy(s, logger),
		newRender(s, logger),
		newApply(s, logger),
		newTest(s, logger),
		newNotYet("verify", "Run the verification tests of skaffold.yaml", "the verify[] section"),
		newNotYet("exec", "Run a custom action of skaffold.yaml", "the customActions[] section"),
		newDelete(s, logger),
		newDev(s, logger),
		newEvents(s),
		newCollector(s, logger),
	)
	return root
}
