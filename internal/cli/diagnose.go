package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/session"
	"github.com/hoist-dev/hoist/internal/version"
)

func newDiagnose(s Streams) *cobra.Command {
	var (
		file     string
		profiles session.ProfileOptions
		yamlOnly bool
	)
	cmd := &cobra.Command{
		Use:   "diagnose",
		Short: "Print the effective config: upgraded to the latest apiVersion, with profiles applied and defaults filled in",
		Long: `diagnose loads skaffold.yaml as a run would, with the same -p and
--profile-auto-activation, and prints what the run would use: a summary of
the config (the apiVersion it was written in, the profiles applied, each
artifact's builder and context), then the config itself as YAML of the
latest apiVersion. It builds and deploys nothing. It exits 0 when the
config loads, and with the config's errors otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := config.Load(file, profiles.ConfigOptions("diagnose"))
			if err != nil {
				return err
			}
			out, err := cfg.YAML()
			if err != nil {
				return err
			}
			if !yamlOnly {
				out = append([]byte(summary(cfg)), out...)
			}
			_, err = s.Out.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "filename", "f", "skaffold.yaml", "path to the skaffold.yaml to read")
	f.BoolVar(&yamlOnly, "yaml-only", false, "print only the effective config's YAML")
	f.StringVar(&profiles.Kubeconfig, "kubeconfig", "", "kubeconfig whose current context profiles' kubeContext activations match")
	f.StringVar(&profiles.KubeContext, "kube-context", "", "the kube context profiles' kubeContext activations match (default: the current context)")
	addProfileFlags(cmd, &profiles)
	return cmd
}

// summary is what diagnose says before the YAML.
func summary(cfg *config.Config) string {
	var w strings.Builder
	fmt.Fprintf(&w, "hoist version: %s\n", version.Version())
	for _, m := range cfg.Modules {
		name := m.Name
		if name == "" {
			name = "(unnamed)"
		}
		profiles := "none"
		if len(m.Profiles) > 0 {
			profiles = strings.Join(m.Profiles, ", ")
		}
		fmt.Fprintf(&w, "Config %s: %s\n", name, m.File)
		fmt.Fprintf(&w, "  Configuration version: %s\n", m.APIVersion)
		fmt.Fprintf(&w, "  Profiles applied: %s\n", profiles)
	}
	fmt.Fprintf(&w, "Number of artifacts: %d\n", len(cfg.Build.Artifacts))
	for _, a := range cfg.Build.Artifacts {
		switch {
		case a.Docker != nil:
			fmt.Fprintf(&w, " - %s: docker, context %s, dockerfile %s\n", a.ImageName, cfg.Rel(a.Context), a.Docker.Dockerfile)
		case a.Custom != nil:
			fmt.Fprintf(&w, " - %s: custom, context %s, buildCommand %q\n", a.ImageName, cfg.Rel(a.Context), a.Custom.BuildCommand)
		}
	}
	if d := cfg.Deployer(); d != "" {
		fmt.Fprintf(&w, "Deployer: %s\n", d)
	}
	fmt.Fprintln(&w, "\nConfiguration")
	return w.String()
}
