package kubectl

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/hooks"
)

const hookDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web}]
`

// hookProject writes manifests (name: content) into a new folder and
// returns a Deployer of them, with its hooks' output in out.
func hookProject(t *testing.T, manifests map[string]string) (*Deployer, *strings.Builder) {
	t.Helper()
	dir := t.TempDir()
	var globs []string
	for name, body := range manifests {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		globs = append(globs, filepath.Join(dir, name))
	}
	var out strings.Builder
	return &Deployer{Dir: dir, Manifests: globs, RunID: "run-1", Namespace: "ns1", HookOut: &out,
		HookEnv: hooks.Env{"KUBE_CONTEXT": "ctx1", "NAMESPACES": "ns1"}}, &out
}

func host(command ...string) *config.HostHook { return &config.HostHook{Command: command} }

func after(withChange bool, command ...string) config.PostRenderHook {
	return config.PostRenderHook{Host: &config.PostRenderHostHook{HostHook: *host(command...), WithChange: withChange}}
}

// objects lists kind/name labels=... of each object of a YAML stream.
func objects(t *testing.T, data []byte) []string {
	t.Helper()
	objs, err := parseManifests("rendered", data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range objs {
		var labels []string
		for k, v := range m.obj.GetLabels() {
			if k != RunIDLabel {
				labels = append(labels, k+"="+v)
			}
		}
		out = append(out, m.obj.GetKind()+"/"+m.obj.GetName()+" "+strings.Join(labels, ","))
	}
	return out
}

func TestRenderHooks(t *testing.T) {
	d, out := hookProject(t, map[string]string{"web.yaml": hookDeployment})
	seen := filepath.Join(d.Dir, "seen.yaml")
	marker := filepath.Join(d.Dir, "before.txt")
	d.RenderHooks = []*config.RenderHooks{{
		Manifests: d.Manifests,
		Before: []config.RenderHook{
			{Host: host("sh", "-c", `echo "$SKAFFOLD_KUBE_CONTEXT $SKAFFOLD_NAMESPACES $PWD" > before.txt; echo prepared`)},
			{Host: &config.HostHook{Command: []string{"false"}, OS: []string{"plan9"}}},
		},
		After: []config.PostRenderHook{
			after(false, "sh", "-c", "cat > seen.yaml; echo checked"),
			after(true, "sed", "s/^  labels:$/  labels:\\n    checked: \"yes\"/"),
			// Skipped here: were it to run, it would print nothing.
			{Host: &config.PostRenderHostHook{HostHook: config.HostHook{Command: []string{"true"}, OS: []string{"plan9"}}, WithChange: true}},
		},
	}}
	data, files, err := d.Render(t.Context(), []build.Result{{ImageName: "web", Tag: "reg.example/web:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web.yaml"}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if got, _ := os.ReadFile(marker); string(got) != "ctx1 ns1 "+d.Dir+"\n" {
		t.Errorf("the before hook wrote %q", got)
	}
	// The after hooks see the hydrated objects: the built image, the run
	// id label and the namespace.
	saw, _ := os.ReadFile(seen)
	for _, want := range []string{"image: reg.example/web:v1", RunIDLabel + ": run-1", "namespace: ns1"} {
		if !strings.Contains(string(saw), want) {
			t.Errorf("the after hook was given no %q:\n%s", want, saw)
		}
	}
	if diff := cmp.Diff([]string{"Deployment/web checked=yes"}, objects(t, data)); diff != "" {
		t.Errorf("rendered (-want +got):\n%s\n%s", diff, data)
	}
	if !strings.Contains(string(data), "image: reg.example/web:v1") {
		t.Errorf("the change lost the built image:\n%s", data)
	}
	for _, want := range []string{"[pre-render hook] prepared\n", "[post-render hook] checked\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("hook output lacks %q:\n%s", want, out)
		}
	}
}

// Each config's after hooks are given its own manifests only, as Skaffold
// gives them; a config without manifests has its after hooks skipped.
func TestRenderHooksOfSeveralConfigs(t *testing.T) {
	d, _ := hookProject(t, map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b2}\n",
		"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
	d.Manifests = []string{filepath.Join(d.Dir, "a.yaml"), filepath.Join(d.Dir, "b.yaml"), filepath.Join(d.Dir, "c.yaml")}
	label := func(v string) config.PostRenderHook {
		return after(true, "sed", `s/^  labels:$/  labels:\n    config: `+v+`/`)
	}
	never := filepath.Join(d.Dir, "never")
	d.RenderHooks = []*config.RenderHooks{
		{Manifests: d.Manifests[1:2], After: []config.PostRenderHook{label("b"),
			// A hook may drop objects of its own config.
			after(true, "sh", "-c", `sed '/^---$/,$d'`)}},
		{Manifests: d.Manifests[:1], After: []config.PostRenderHook{label("a")}},
		{Manifests: []string{"/elsewhere/*.yaml"}, After: []config.PostRenderHook{after(false, "touch", never)}},
	}
	data, _, err := d.Render(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ConfigMap/a config=a", "ConfigMap/b config=b", "ConfigMap/c "}
	if diff := cmp.Diff(want, objects(t, data)); diff != "" {
		t.Errorf("rendered (-want +got):\n%s\n%s", diff, data)
	}
	if _, err := os.Stat(never); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the hook of a config without manifests ran: %v", err)
	}
}

func TestRenderHookFailures(t *testing.T) {
	tests := []struct {
		name  string
		hooks config.RenderHooks
		// want are in the error's message.
		want []string
		// exit is the hook's exit status in the error, -1 for none.
		exit int
	}{
		{"a failing before hook", config.RenderHooks{Before: []config.RenderHook{{Host: host("true")}, {Host: host("sh", "-c", "echo no cluster >&2; exit 4")}}},
			[]string{"pre-render hook 2 (sh -c echo no cluster >&2; exit 4) failed", "exit status 4", "last output: no cluster"}, 4},
		{"a failing after hook", config.RenderHooks{After: []config.PostRenderHook{after(false, "sh", "-c", "cat >/dev/null; echo invalid; exit 3")}},
			[]string{"post-render hook 1 (sh -c cat >/dev/null; echo invalid; exit 3) failed", "exit status 3", "last output: invalid"}, 3},
		{"a change to nothing", config.RenderHooks{After: []config.PostRenderHook{after(true, "sh", "-c", "cat >/dev/null; echo done >&2")}},
			[]string{"post-render hook 1 (sh -c cat >/dev/null; echo done >&2) printed no manifests"}, -1},
		{"a change to what is not objects", config.RenderHooks{After: []config.PostRenderHook{after(false, "true"), after(true, "echo", "changed it")}},
			[]string{"post-render hook 2 (echo changed it) printed what is not Kubernetes objects", "the output of post-render hook 2:1"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := hookProject(t, map[string]string{"web.yaml": hookDeployment})
			tt.hooks.Manifests = d.Manifests
			d.RenderHooks = []*config.RenderHooks{&tt.hooks}
			_, _, err := d.Render(t.Context(), nil)
			if fault.CodeOf(err) != fault.DeployHookFailed {
				t.Fatalf("error %v, want %s", err, fault.DeployHookFailed)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			status := -1 // none: the hook ran, but what it printed is wrong
			if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
				status = exit.ExitCode()
			}
			if status != tt.exit {
				t.Errorf("error %v has exit status %d, want %d", err, status, tt.exit)
			}
		})
	}
}
