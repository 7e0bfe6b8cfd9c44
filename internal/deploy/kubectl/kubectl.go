// Package kubectl deploys Kubernetes manifests as `kubectl apply` would:
// it expands the manifest globs, substitutes built images, labels every
// object with the run id, runs the config's render hooks (manifests.hooks)
// around that, waits for those of the objects that are still being
// deleted to be gone, and applies the objects one by one.
//
// It uses client-go with server-side apply (field manager "hoist") rather
// than running the kubectl binary: API errors arrive typed (not found, no
// such kind, connection refused) and become coded errors without reading
// text; each object's outcome is known as it happens and becomes one event;
// the status check watches through the same client; and a machine needs no
// kubectl to deploy.
package kubectl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/hooks"
	"github.com/hoist-dev/hoist/internal/render"
)

// FieldManager is the server-side apply field manager of hoist.
const FieldManager = "hoist"

// Deployer applies and deletes a config's manifests.
type Deployer struct {
	Cluster *Cluster
	// Dir is the config file's folder; Manifests are globs relative to it.
	Dir       string
	Manifests []string
	// RunID and Labels (--label) label every object and pod template.
	RunID  string
	Labels map[string]string
	// Selector widens or narrows the objects whose images are replaced.
	Selector config.ResourceSelector
	// Options are what kubectl.flags ask for.
	Options config.KubectlOptions
	// Kustomizations are rendered with kustomize and applied after the
	// manifests.
	Kustomizations []config.Kustomization
	// Helm's releases are rendered as helm template renders them and
	// applied with the manifests; Helm's logs go to Log.
	Helm *config.Helm
	Log  io.Writer
	// Namespace is where objects that name none go when there is no
	// Cluster (hoist render).
	Namespace string
	// RenderHooks are the configs' manifests.hooks, which Deploy and
	// Render run (Delete does not): each config's before hooks before the
	// manifests load, its after hooks on the hydrated objects of its own
	// manifests. Their output goes to HookOut; HookEnv is what they are
	// told (SKAFFOLD_KUBE_CONTEXT, SKAFFOLD_NAMESPACES, ...).
	RenderHooks []*config.RenderHooks
	HookOut     io.Writer
	HookEnv     hooks.Env
	// WaitForDeletions makes Deploy wait, before it applies, for objects
	// of the manifests that are still being deleted.
	WaitForDeletions WaitForDeletions
}

var _ deploy.Deployer = (*Deployer)(nil)

// Name implements deploy.Deployer.
func (d *Deployer) Name() string { return "kubectl" }

// Deploy implements deploy.Deployer.
func (d *Deployer) Deploy(ctx context.Context, builds []build.Result, r deploy.Reporter) ([]deploy.Resource, []string, error) {
	files, objs, err := d.render(ctx, builds)
	if err != nil {
		return nil, files, err
	}
	if err := d.waitForDeletions(ctx, objs, r); err != nil {
		return nil, files, err
	}
	// Namespaces go first, so that objects in them can be applied.
	slices.SortStableFunc(objs, func(a, b manifest) int { return rank(a.obj.GetKind()) - rank(b.obj.GetKind()) })
	var applied []deploy.Resource
	nsChecked := map[string]bool{}
	for _, m := range objs {
		res, err := d.apply(ctx, m, nsChecked)
		if err != nil {
			return applied, files, err
		}
		if res.Kind == "Namespace" {
			nsChecked[res.Name] = true
		}
		applied = append(applied, res)
		r.Applied(res)
	}
	return applied, files, nil
}

func (d *Deployer) namespace() string {
	if d.Cluster != nil {
		return d.Cluster.Namespace
	}
	return d.Namespace
}

// Render returns the objects Deploy would apply, as a stream of YAML
// documents: the built images replaced, the run id label and --label's
// added, and, when the Deployer has a namespace, the namespace of
// namespaced objects that name none set. The files are the manifests' sources.
func (d *Deployer) Render(ctx context.Context, builds []build.Result) ([]byte, []string, error) {
	files, objs, err := d.render(ctx, builds)
	if err != nil {
		return nil, files, err
	}
	data, err := encode(objs)
	return data, files, err
}

// render returns the objects to apply: the render hooks' before hooks
// run, the manifests loaded, the built images replaced, the run id label
// added, the namespace of namespaced objects that name none set (when the
// Deployer has one), and the after hooks run on the result, so that they
// see what hoist render prints and what Deploy applies, as Skaffold's
// post-render hooks see the hydrated manifests.
func (d *Deployer) render(ctx context.Context, builds []build.Result) ([]string, []manifest, error) {
	if err := d.preRender(ctx); err != nil {
		return nil, nil, err
	}
	files, objs, err := d.load(ctx, builds)
	if err != nil {
		return files, nil, err
	}
	ns := d.namespace()
	labels := deploy.Labels(d.RunID, d.Labels)
	for _, m := range objs {
		substitute(m.obj, builds, d.Selector)
		label(m.obj, labels)
		if ns != "" && m.obj.GetNamespace() == "" && !clusterScoped[m.obj.GetKind()] {
			m.obj.SetNamespace(ns)
		}
	}
	objs, err = d.postRender(ctx, objs)
	return files, objs, err
}

func rank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	}
	return 2
}

func (d *Deployer) load(ctx context.Context, builds []build.Result) ([]string, []manifest, error) {
	var files []string
	var objs []manifest
	// A file that globs of several configs match is the first one's.
	for _, g := range d.Manifests {
		matched, err := expand(d.Dir, []string{g})
		if err != nil {
			return files, nil, err
		}
		owner := d.owner(func(h *config.RenderHooks) bool { return slices.Contains(h.Manifests, g) })
		for _, f := range matched {
			if slices.Contains(files, f) {
				continue
			}
			files = append(files, f)
			fobjs, err := read(d.Dir, []string{f})
			if err != nil {
				return files, nil, err
			}
			objs = append(objs, owned(fobjs, owner)...)
		}
	}
	for _, z := range d.Kustomizations {
		rel := z.Path
		if r, err := filepath.Rel(d.Dir, z.Path); err == nil && filepath.IsLocal(r) {
			rel = filepath.ToSlash(r)
		}
		files = append(files, rel)
		data, _, err := render.Kustomize(ctx, z.Path, z.BuildArgs)
		if err != nil {
			return files, nil, err
		}
		zobjs, err := parseManifests(rel+" (kustomize)", data)
		if err != nil {
			return files, nil, err
		}
		owner := d.owner(func(h *config.RenderHooks) bool { return slices.Contains(h.Kustomizations, z.Path) })
		objs = append(objs, owned(zobjs, owner)...)
	}
	if d.Helm != nil {
		for i, r := range d.Helm.Releases {
			rel, err := render.ResolveRelease(r, d.Helm.Flags, builds, tag.Env(), d.Dir, d.namespace(), fmt.Sprintf("manifests.helm.releases[%d]", i))
			if err != nil {
				return files, nil, err
			}
			files = append(files, (&config.Config{Dir: d.Dir}).Rel(rel.Chart))
			resp, err := render.Call(ctx, &render.Request{Op: render.OpHelmTemplate, Helm: &render.HelmRequest{Release: rel}}, d.Log)
			if err != nil {
				return files, nil, err
			}
			hobjs, err := parseManifests("release "+rel.Name+" (helm template)", []byte(resp.Manifests))
			if err != nil {
				return files, nil, err
			}
			for _, m := range hobjs {
				if m.obj.GetNamespace() == "" && !clusterScoped[m.obj.GetKind()] {
					m.obj.SetNamespace(rel.Namespace)
				}
			}
			owner := d.owner(func(h *config.RenderHooks) bool { return slices.Contains(h.Releases, r) })
			objs = append(objs, owned(hobjs, owner)...)
		}
	}
	return files, objs, nil
}

// KustomizeInputs are the files the kustomizations read: what hoist dev
// watches to redeploy. A kustomization that fails to build contributes
// the files it read until then.
func KustomizeInputs(ctx context.Context, zs []config.Kustomization) []string {
	var out []string
	for _, z := range zs {
		_, files, _ := render.Kustomize(ctx, z.Path, z.BuildArgs)
		out = append(out, files...)
	}
	return out
}

// resource returns the API resource of an object and sets its namespace.
func (d *Deployer) resource(ctx context.Context, m manifest, nsChecked map[string]bool) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	gvk := m.obj.GroupVersionKind()
	mapping, err := d.Cluster.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return nil, nil, fault.Wrap(err, fault.DeployUnknownKind,
			fmt.Sprintf("%s:%d: the cluster does not know kind %q of apiVersion %q", m.file, m.line, gvk.Kind, gvk.GroupVersion()),
			"check the kind and apiVersion, or install the CustomResourceDefinition that defines it")
	}
	if err != nil {
		return nil, nil, d.Cluster.unreachable(err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		m.obj.SetNamespace("")
		return d.Cluster.Dynamic.Resource(mapping.Resource), mapping, nil
	}
	ns := m.obj.GetNamespace()
	if ns == "" {
		ns = d.Cluster.Namespace
		m.obj.SetNamespace(ns)
	}
	if nsChecked != nil && !nsChecked[ns] {
		_, err := d.Cluster.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil, fault.New(fault.DeployNamespaceMissing,
				fmt.Sprintf("%s:%d: namespace %q of %s %q does not exist", m.file, m.line, ns, gvk.Kind, m.obj.GetName()),
				fmt.Sprintf("create it (kubectl create namespace %s), add it to the manifests, or choose another with -n", ns))
		}
		if err != nil {
			return nil, nil, d.Cluster.unreachable(err)
		}
		nsChecked[ns] = true
	}
	return d.Cluster.Dynamic.Resource(mapping.Resource).Namespace(ns), mapping, nil
}

func (d *Deployer) apply(ctx context.Context, m manifest, nsChecked map[string]bool) (deploy.Resource, error) {
	client, mapping, err := d.resource(ctx, m, nsChecked)
	if err != nil {
		return deploy.Resource{}, err
	}
	res := describe(m.obj, mapping.Resource)
	before, err := client.Get(ctx, m.obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		before = nil
	case err != nil:
		return res, d.applyFailure(ctx, m, err)
	}
	manager := FieldManager
	if d.Options.FieldManager != "" {
		manager = d.Options.FieldManager
	}
	after, err := client.Apply(ctx, m.obj.GetName(), m.obj, metav1.ApplyOptions{FieldManager: manager, Force: true})
	if err != nil {
		return res, d.applyFailure(ctx, m, err)
	}
	switch {
	case before == nil:
		res.Action = "created"
	case before.GetResourceVersion() == after.GetResourceVersion():
		res.Action = "unchanged"
	default:
		res.Action = "configured"
	}
	return res, nil
}

func (d *Deployer) applyFailure(ctx context.Context, m manifest, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return d.Cluster.unreachable(err)
	}
	return fault.Wrap(err, fault.DeployApplyFailed,
		fmt.Sprintf("%s:%d: applying %s %q", m.file, m.line, m.obj.GetKind(), m.obj.GetName()),
		"fix the object in the manifest; the API server's message says what it refused")
}

func describe(obj *unstructured.Unstructured, gvr schema.GroupVersionResource) deploy.Resource {
	return deploy.Resource{Group: gvr.Group, Version: gvr.Version, Kind: obj.GetKind(),
		Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// Delete implements deploy.Deployer: it deletes every object of the
// manifests that exists, in reverse order, and reports each.
func (d *Deployer) Delete(ctx context.Context, r deploy.Reporter) ([]string, error) {
	files, objs, err := d.load(ctx, nil)
	if err != nil {
		return files, err
	}
	// The reverse of the apply order: namespaces last.
	slices.SortStableFunc(objs, func(a, b manifest) int { return rank(a.obj.GetKind()) - rank(b.obj.GetKind()) })
	slices.Reverse(objs)
	policy := metav1.DeletePropagationBackground
	if d.Options.Propagation != "" {
		policy = metav1.DeletionPropagation(d.Options.Propagation)
	}
	for _, m := range objs {
		client, mapping, err := d.resource(ctx, m, nil)
		if err != nil {
			return files, err
		}
		err = client.Delete(ctx, m.obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy, GracePeriodSeconds: d.Options.GracePeriod})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return files, ctx.Err()
			}
			return files, fault.Wrap(err, fault.DeployDeleteFailed,
				fmt.Sprintf("%s:%d: deleting %s %q", m.file, m.line, m.obj.GetKind(), m.obj.GetName()))
		}
		res := describe(m.obj, mapping.Resource)
		res.Action = "deleted"
		r.Applied(res)
	}
	return files, nil
}
