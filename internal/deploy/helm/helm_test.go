package helm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/helm"
	"github.com/hoist-dev/hoist/internal/fault"
)

type reporter []deploy.Resource

func (r *reporter) Applied(res deploy.Resource) { *r = append(*r, res) }

// A broken release is found before any release is installed.
func TestDeployChecksEveryReleaseFirst(t *testing.T) {
	// Any call to hoist-render would fail with DEPLOY_RENDERER_MISSING.
	t.Setenv("HOIST_RENDER", filepath.Join(t.TempDir(), "absent"))
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "chart"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("replicas: [1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := &config.HelmRelease{Name: "first", ChartPath: "chart"}
	for _, tc := range []struct {
		name   string
		second *config.HelmRelease
		want   string
	}{
		{"values not YAML", &config.HelmRelease{Name: "second", ChartPath: "chart", ValuesFiles: []string{"bad.yaml"}}, "values file " + filepath.Join(dir, "bad.yaml") + " is not YAML"},
		{"values missing", &config.HelmRelease{Name: "second", ChartPath: "chart", ValuesFiles: []string{"none.yaml"}}, "cannot be read"},
		{"chart missing", &config.HelmRelease{Name: "second", ChartPath: "nochart"}, "chart " + filepath.Join(dir, "nochart") + " does not exist"},
		{"template over a missing variable", &config.HelmRelease{Name: "second-{{.HOIST_TEST_UNSET_VARIABLE}}", ChartPath: "chart"}, "deploy.helm.releases[1].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r reporter
			d := &helm.Deployer{Releases: []*config.HelmRelease{good, tc.second}, Dir: dir, Namespace: "default"}
			_, _, err := d.Deploy(t.Context(), nil, &r)
			if f := fault.As(err); f == nil || f.Code != fault.DeployChartInvalid || !strings.Contains(f.Message, tc.want) {
				t.Errorf("got %v, want DEPLOY_CHART_INVALID with %q", err, tc.want)
			}
			if len(r) != 0 {
				t.Errorf("reported %v before failing", r)
			}
		})
	}
}
