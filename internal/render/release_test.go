package render_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
)

func TestImageVars(t *testing.T) {
	vars := render.ImageVars([]build.Result{
		{ImageName: "gcr.io/proj/app", Tag: "gcr.io/proj/app:v1", Digest: "sha256:abc", Pushed: true},
		{ImageName: "worker", Tag: "worker:v2", Digest: "sha256:local"},
	})
	for k, want := range map[string]string{
		"IMAGE_FULLY_QUALIFIED_gcr_io_proj_app": "gcr.io/proj/app:v1@sha256:abc",
		"IMAGE_FULLY_QUALIFIED":                 "gcr.io/proj/app:v1@sha256:abc",
		"IMAGE_REPO_gcr_io_proj_app":            "gcr.io/proj/app",
		"IMAGE_REPO_NO_DOMAIN_gcr_io_proj_app":  "proj/app",
		"IMAGE_DOMAIN_gcr_io_proj_app":          "gcr.io",
		"IMAGE_TAG_gcr_io_proj_app":             "v1",
		"IMAGE_DIGEST_gcr_io_proj_app":          "sha256:abc",
		"DIGEST_HEX":                            "abc",
		"IMAGE_NAME":                            "gcr.io/proj/app",
		// The second build by position; an image only in the local
		// engine has no registry digest.
		"IMAGE_FULLY_QUALIFIED2":  "worker:v2",
		"IMAGE_TAG_worker":        "v2",
		"IMAGE_DIGEST_worker":     "",
		"IMAGE_DOMAIN_worker":     "",
		"IMAGE_REPO_NO_DOMAIN2":   "worker",
		"IMAGE_NAME2":             "worker",
		"IMAGE_REPO_worker":       "worker",
		"IMAGE_FULLY_QUALIFIED_x": "",
	} {
		if got := vars[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestResolveRelease(t *testing.T) {
	var overrides yaml.Node
	if err := yaml.Unmarshal([]byte("resources: {limits: {cpu: 100m}}\n"), &overrides); err != nil {
		t.Fatal(err)
	}
	r := &config.HelmRelease{
		Name: "web-{{.STAGE}}", ChartPath: "charts/web", ValuesFiles: []string{"values-{{.STAGE}}.yaml", "/abs/values.yaml"},
		SetValues:         config.FlatMap{{Key: "replicas", Value: "2"}, {Key: "stage", Value: "{{.STAGE}}"}},
		SetValueTemplates: config.FlatMap{{Key: "image.repository", Value: "{{.IMAGE_REPO_app}}"}, {Key: "image.tag", Value: "{{.IMAGE_TAG_app}}@{{.IMAGE_DIGEST_app}}"}},
		SetFiles:          map[string]string{"z": "z.txt", "a": "a.txt"},
		Overrides:         config.Raw{Node: overrides.Content[0]},
	}
	builds := []build.Result{{ImageName: "app", Tag: "reg/app:v1"}}
	flags := config.HelmFlags{Upgrade: []string{"--atomic", "--timeout 2m"}, Global: []string{"--plain-http"}}
	got, err := render.ResolveRelease(r, flags, builds, map[string]string{"STAGE": "dev"}, "/proj", "team", "deploy.helm.releases[0]")
	if err != nil {
		t.Fatal(err)
	}
	want := render.HelmRelease{
		Name: "web-dev", Namespace: "team", Chart: filepath.Join("/proj", "charts/web"),
		ValuesFiles: []string{"/proj/values-dev.yaml", "/abs/values.yaml"},
		Overrides:   map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "100m"}}},
		// The image was not pushed: no digest, and no dangling @.
		Set:      []string{"replicas=2", "stage=dev", "image.repository=reg/app", "image.tag=v1"},
		SetFiles: []string{"a=/proj/a.txt", "z=/proj/z.txt"},
		Atomic:   true, PlainHTTP: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("release (-want +got):\n%s", diff)
	}

	// A variable that is not set names the field.
	r.SetValueTemplates = config.FlatMap{{Key: "image", Value: "{{.IMAGE_REPO_other}}"}}
	_, err = render.ResolveRelease(r, flags, builds, map[string]string{"STAGE": "dev"}, "/proj", "team", "deploy.helm.releases[0]")
	if f := fault.As(err); f == nil || f.Code != fault.DeployChartInvalid || !strings.Contains(f.Message, "deploy.helm.releases[0].setValueTemplates.image") {
		t.Errorf("a missing image variable: %v", err)
	}
	// To delete, image variables expand to nothing rather than failing.
	if _, err := render.ResolveRelease(r, flags, nil, map[string]string{"STAGE": "dev"}, "/proj", "team", "deploy.helm.releases[0]"); err != nil {
		t.Errorf("without builds: %v", err)
	}
	r.Name = "web-{{.MISSING}}"
	if _, err := render.ResolveRelease(r, flags, builds, nil, "/proj", "team", "deploy.helm.releases[0]"); err == nil || !strings.Contains(err.Error(), "deploy.helm.releases[0].name") {
		t.Errorf("a name over a missing variable: %v", err)
	}
}

func TestKeepInstalled(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		r    config.HelmRelease
		keep bool
	}{
		{config.HelmRelease{Name: "a", ChartPath: "c"}, false},
		{config.HelmRelease{Name: "a", RemoteChart: "oci://r/c"}, true},
		{config.HelmRelease{Name: "a", RemoteChart: "oci://r/c", UpgradeOnChange: &yes}, false},
		{config.HelmRelease{Name: "a", ChartPath: "c", UpgradeOnChange: &no}, true},
	} {
		got, err := render.ResolveRelease(&tc.r, config.HelmFlags{}, nil, nil, "/p", "ns", "r")
		if err != nil || got.KeepInstalled != tc.keep {
			t.Errorf("%+v: keep %v (%v), want %v", tc.r, got.KeepInstalled, err, tc.keep)
		}
	}
}
