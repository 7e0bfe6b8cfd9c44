package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

func newFix(s Streams) *cobra.Command {
	var (
		file      string
		overwrite bool
	)
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Upgrade skaffold.yaml to the latest apiVersion (" + config.LatestVersion + ")",
		Long: `fix rewrites skaffold.yaml in the latest apiVersion, step by step from the
one it is written in, as Skaffold upgrades it, and prints the result. With
--overwrite it writes the result back to the file, after copying the
original to FILE.v2 (Skaffold's name for it). Comments and the order of the
fields are kept; profiles are upgraded, not applied.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			// What fix says goes to stderr; losing it loses no config.
			say := func(format string, args ...any) { _, _ = fmt.Fprintf(s.Err, format, args...) }
			data, err := os.ReadFile(file)
			if errors.Is(err, fs.ErrNotExist) {
				return fault.New(fault.ConfigNotFound, fmt.Sprintf("config file %s not found", file),
					"pass the config to upgrade with -f path/to/skaffold.yaml")
			}
			if err != nil {
				return fault.Wrap(err, fault.ConfigNotFound, "reading config")
			}
			out, notes, changed, err := config.Upgrade(file, data)
			if err != nil {
				return err
			}
			for _, n := range notes {
				say("warning: %s\n", n)
			}
			if !changed {
				say("%s is already version %s\n", file, config.LatestVersion)
				return nil
			}
			if _, err := config.Parse(file, out); err != nil {
				say("warning: the upgraded config does not load in hoist yet:\n%s", fault.Format(err))
			}
			if !overwrite {
				_, err := s.Out.Write(out)
				return err
			}
			info, err := os.Stat(file)
			if err != nil {
				return err
			}
			backup := file + ".v2"
			if err := os.WriteFile(backup, data, info.Mode().Perm()); err != nil {
				return fmt.Errorf("backing up %s: %w", file, err)
			}
			say("backed up the previous config at %s\n", backup)
			if err := os.WriteFile(file, out, info.Mode().Perm()); err != nil {
				return fmt.Errorf("writing %s (the original is in %s): %w", file, backup, err)
			}
			say("wrote %s at version %s\n", file, config.LatestVersion)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "skaffold.yaml", "path to the skaffold.yaml to upgrade")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "write the upgraded config back to the file, keeping the original as FILE.v2")
	return cmd
}
