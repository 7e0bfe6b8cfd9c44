package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

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
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "json":
				return json.NewEncoder(s.Out).Encode(map[string]string{
					"version": version.Version(), "eventApiVersion": event.APIVersion,
					"go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
			case "text", "":
				_, err := fmt.Fprintln(s.Out, version.Version())
				return err
			}
			return usageError("--output must be text or json, got %q", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
