package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// hoist must not link kustomize or Helm: they would grow every run's
// memory (see the package's documentation). hoist-render holds them.
func TestHoistLinksNoRenderer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/hoist-dev/hoist/cmd/hoist").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "sigs.k8s.io/kustomize/api") || strings.HasPrefix(pkg, "helm.sh/helm") ||
			strings.HasPrefix(pkg, "github.com/hoist-dev/hoist/internal/render/engine") {
			t.Errorf("cmd/hoist links %s; only cmd/hoist-render may", pkg)
		}
	}
}

func TestCall(t *testing.T) {
	testutil.Render(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [missing.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A failure comes back as the fault hoist-render answered with.
	_, inputs, err := render.Kustomize(t.Context(), dir, nil)
	if f := fault.As(err); f == nil || f.Code != fault.DeployManifestInvalid || !strings.Contains(f.Message, "kustomize build "+dir) {
		t.Errorf("a kustomization that does not build: %v", err)
	}
	if !slices.Contains(inputs, filepath.Join(dir, "kustomization.yaml")) {
		t.Errorf("inputs %v lack the kustomization read before it failed", inputs)
	}
}

func TestCallWithoutTheProgram(t *testing.T) {
	// Not parallel: it changes the environment.
	t.Setenv("HOIST_RENDER", "")
	t.Setenv("PATH", t.TempDir())
	_, _, err := render.Kustomize(t.Context(), t.TempDir(), nil)
	if f := fault.As(err); f == nil || f.Code != fault.DeployRendererMissing || !strings.Contains(f.Message, "hoist-render") {
		t.Errorf("without hoist-render: %v", err)
	}
	t.Setenv("HOIST_RENDER", filepath.Join(t.TempDir(), "true"))
	if err := os.Symlink("/bin/true", os.Getenv("HOIST_RENDER")); err != nil {
		t.Fatal(err)
	}
	_, _, err = render.Kustomize(t.Context(), t.TempDir(), nil)
	if f := fault.As(err); f == nil || f.Code != fault.DeployRendererMissing || !strings.Contains(f.Message, "did not answer kustomize") {
		t.Errorf("with a program that answers nothing: %v", err)
	}
}
