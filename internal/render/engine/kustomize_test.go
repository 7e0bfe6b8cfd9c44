package engine

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/render"
)

func TestKustomize(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"base/kustomization.yaml":         "resources: [cm.yaml]\n",
		"base/cm.yaml":                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: info}\n",
		"overlay/kustomization.yaml":      "resources: [../base]\nnamePrefix: dev-\nconfigMapGenerator:\n- {name: extra, literals: [a=b]}\n",
		"broken/kustomization.yaml":       "resources: [missing.yaml]\n",
		"outside/kustomization.yaml":      "resources: [../base/cm.yaml]\n",
		"unrelated/kustomization.yaml.bk": "x",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(path string, args ...string) *render.Response {
		return kustomize(&render.KustomizeRequest{Path: filepath.Join(dir, path), Args: args})
	}
	resp := build("overlay")
	if resp.Error != nil {
		t.Fatal(resp.Error.Message)
	}
	names := regexp.MustCompile(`(?m)^  name: (\S+)$`).FindAllStringSubmatch(resp.Manifests, -1)
	files := resp.Inputs
	if len(names) != 2 || names[0][1] != "dev-settings" || !strings.HasPrefix(names[1][1], "dev-extra-") {
		t.Errorf("objects %v in\n%s", names, resp.Manifests)
	}
	want := []string{filepath.Join(dir, "base/cm.yaml"), filepath.Join(dir, "base/kustomization.yaml"), filepath.Join(dir, "overlay/kustomization.yaml")}
	if !slices.Equal(files, want) {
		t.Errorf("inputs %v, want %v", files, want)
	}
	if e := build("broken").Error; e == nil || e.Code != "DEPLOY_MANIFEST_INVALID" || !strings.Contains(e.Message, "kustomize build "+filepath.Join(dir, "broken")) {
		t.Errorf("a kustomization that does not build: %+v", e)
	}
	// A file outside the kustomization's folder needs the flag that allows it.
	if e := build("outside").Error; e == nil {
		t.Error("a file outside the kustomization was loaded without --load-restrictor LoadRestrictionsNone")
	}
	if e := build("outside", "--load-restrictor LoadRestrictionsNone").Error; e != nil {
		t.Errorf("with LoadRestrictionsNone: %v", e.Message)
	}
	if e := build("overlay", "--enable-helm").Error; e == nil || !strings.Contains(e.Message, "hoist runs no plugins") {
		t.Errorf("--enable-helm: %+v", e)
	}
}
