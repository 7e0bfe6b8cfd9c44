package kubectl

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	objs, files, err := kustomize(dir, "overlay", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.obj.GetName())
	}
	if len(names) != 2 || names[0] != "dev-settings" || !strings.HasPrefix(names[1], "dev-extra-") {
		t.Errorf("objects %v", names)
	}
	want := []string{filepath.Join(dir, "base/cm.yaml"), filepath.Join(dir, "base/kustomization.yaml"), filepath.Join(dir, "overlay/kustomization.yaml")}
	if !slices.Equal(files, want) {
		t.Errorf("inputs %v, want %v", files, want)
	}
	if _, _, err := kustomize(dir, "broken", nil); err == nil || !strings.Contains(err.Error(), "kustomize build broken") {
		t.Errorf("a kustomization that does not build: %v", err)
	}
	// A file outside the kustomization's folder needs the flag that allows it.
	if _, _, err := kustomize(dir, "outside", nil); err == nil {
		t.Error("a file outside the kustomization was loaded without --load-restrictor LoadRestrictionsNone")
	}
	if _, _, err := kustomize(dir, "outside", []string{"--load-restrictor LoadRestrictionsNone"}); err != nil {
		t.Errorf("with LoadRestrictionsNone: %v", err)
	}
	if _, _, err := kustomize(dir, "overlay", []string{"--enable-helm"}); err == nil || !strings.Contains(err.Error(), "hoist runs no plugins") {
		t.Errorf("--enable-helm: %v", err)
	}
}
