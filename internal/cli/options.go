package cli

import (
	"fmt"

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
	format  string
	level   string
	logFile string
}

func (o *eventOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.format, "event-format", "", "events on stdout: json (event lines only; logs go to stderr) or text (default from event.log.format, else json)")
	f.StringVar(&o.level, "event-level", "", "lowest event level on stdout: debug, info, warn, error (default from event.log.level, else info)")
	f.StringVar(&o.logFile, "event-log-file", "", "append every event to this file as JSON lines, as it happens (default from event.log.file)")
}

func usageError(format string, args ...any) error {
	return fault.New(fault.UsageInvalid, fault.ExitConfig, fmt.Sprintf(format, args...), "see hoist --help")
}
