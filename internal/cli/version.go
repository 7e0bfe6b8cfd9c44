package cli

import (
	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/version"
)

func newVersion(s Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print hoist's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return version.Write(s.Out, output, event.APIVersion)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
