package cli

import (
	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/fault"
)

// newNotYet is a Skaffold command hoist does not have yet: it says so,
// instead of an "unknown command" that would suggest a typo.
func newNotYet(name, short, uses string) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Short:              short + " (not supported yet)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return fault.New(fault.UsageInvalid, "hoist "+name+" is not supported yet: it would run "+uses,
				"run it with skaffold "+name+" on the same skaffold.yaml; hoist run and hoist dev read the config as it is")
		},
	}
}
