package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoist-dev/hoist/internal/config"
)

// The effective config, written out, reads back as the same config.
func TestYAMLRoundTrip(t *testing.T) {
	t.Setenv("CI", "true")
	for _, profiles := range [][]string{nil, {"dated"}, {"patched"}} {
		cfg, err := config.ParseWith("skaffold.yaml", []byte(profiled), config.Options{Profiles: profiles})
		if err != nil {
			t.Fatal(err)
		}
		out, err := cfg.YAML()
		if err != nil {
			t.Fatal(err)
		}
		again, err := config.Parse("effective.yaml", out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		again.APIVersion, again.Profiles, again.Modules = cfg.APIVersion, cfg.Profiles, cfg.Modules
		if diff := cmp.Diff(cfg, again, cmpopts.IgnoreUnexported(config.Config{}, config.TagPolicy{})); diff != "" {
			t.Errorf("profiles %v: read back (-first +again):\n%s\n%s", profiles, diff, out)
		}
	}
}
