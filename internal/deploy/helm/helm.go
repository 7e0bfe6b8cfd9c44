// Package helm deploys deploy.helm's releases: each is installed, or
// upgraded when it exists, as helm upgrade --install does, by hoist-render
// with Helm's SDK (see package render). Helm's post-renderer replaces the
// built images left in the rendered objects and labels each with the run
// id and --label's, as raw manifests get; every object of the release is reported with
// what happened to it, and its workloads go through the status check.
package helm

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
)

// Deployer installs, upgrades and uninstalls releases.
type Deployer struct {
	Releases []*config.HelmRelease
	Flags    config.HelmFlags
	// Dir is the config's folder, which relative paths start from.
	Dir string
	// Kubeconfig and KubeContext choose the cluster; Namespace is where
	// releases that name none go.
	Kubeconfig, KubeContext, Namespace string
	// RunID and Labels (--label) label every object and pod template.
	RunID    string
	Labels   map[string]string
	Selector config.ResourceSelector
	// Log receives what Helm logs.
	Log io.Writer
}

var _ deploy.Deployer = (*Deployer)(nil)

// Name implements deploy.Deployer.
func (d *Deployer) Name() string { return "helm" }

// request is the hoist-render request of release i.
func (d *Deployer) request(op string, i int, builds []build.Result) (*render.Request, error) {
	rel, err := render.ResolveRelease(d.Releases[i], d.Flags, builds, tag.Env(), d.Dir, d.Namespace, fmt.Sprintf("deploy.helm.releases[%d]", i))
	if err != nil {
		return nil, err
	}
	return &render.Request{Op: op, Helm: &render.HelmRequest{Kubeconfig: d.Kubeconfig, KubeContext: d.KubeContext,
		Release: rel, Builds: builds, Selector: d.Selector, RunID: d.RunID, Labels: d.Labels}}, nil
}

// Deploy implements deploy.Deployer: the releases in order, each object
// reported as created or configured, and those the upgrade removed as
// deleted. The files are the charts.
func (d *Deployer) Deploy(ctx context.Context, builds []build.Result, r deploy.Reporter) ([]deploy.Resource, []string, error) {
	var all []deploy.Resource
	var charts []string
	// What can be checked here is checked for every release before any
	// is installed: a broken second release leaves the first as it was.
	reqs := make([]*render.Request, len(d.Releases))
	for i := range d.Releases {
		req, err := d.request(render.OpHelmUpgrade, i, builds)
		if err == nil {
			err = check(req.Helm.Release)
		}
		if err != nil {
			return nil, nil, err
		}
		reqs[i] = req
	}
	for _, req := range reqs {
		rel := req.Helm.Release
		charts = append(charts, d.chart(rel.Chart))
		resp, err := render.Call(ctx, req, d.Log)
		if err != nil {
			return all, charts, err
		}
		source := "release " + rel.Name
		now, err := kubectl.Resources(source, []byte(resp.Manifests), rel.Namespace)
		if err != nil {
			return all, charts, err
		}
		var prev []deploy.Resource
		if resp.Release != nil && resp.Release.Previous != "" {
			prev, _ = kubectl.Resources(source, []byte(resp.Release.Previous), rel.Namespace)
		}
		before := map[string]bool{}
		for _, p := range prev {
			before[key(p)] = true
		}
		for _, res := range now {
			res.Action = "created"
			switch {
			case resp.Release != nil && resp.Release.Kept:
				res.Action = "unchanged"
				delete(before, key(res))
			case before[key(res)]:
				res.Action = "configured"
				delete(before, key(res))
			}
			r.Applied(res)
			all = append(all, res)
		}
		// What the previous revision had and this one has not.
		for _, p := range prev {
			if before[key(p)] {
				p.Action = "deleted"
				r.Applied(p)
			}
		}
	}
	return all, charts, nil
}

// check finds, without Helm, what would fail a release: a local chart or
// a values file that does not exist, or a values file that is not YAML.
func check(rel render.HelmRelease) error {
	if rel.Repo == "" && !strings.Contains(rel.Chart, "://") {
		if _, err := os.Stat(rel.Chart); err != nil {
			return fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: chart %s does not exist", rel.Name, rel.Chart),
				"fix chartPath, which is relative to skaffold.yaml")
		}
	}
	for _, f := range rel.ValuesFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: values file %s cannot be read", rel.Name, f),
				"fix valuesFiles, which are relative to skaffold.yaml")
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: values file %s is not YAML", rel.Name, f),
				"fix the values file; it must be a mapping of values")
		}
	}
	return nil
}

func key(r deploy.Resource) string { return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name }

// chart names a chart in events: a local one relative to the config.
func (d *Deployer) chart(c string) string {
	cfg := config.Config{Dir: d.Dir}
	return cfg.Rel(c)
}

// Delete implements deploy.Deployer: it uninstalls the releases, the last
// first, and reports the objects each had. A release that is not
// installed is skipped.
func (d *Deployer) Delete(ctx context.Context, r deploy.Reporter) ([]string, error) {
	var charts []string
	for i := len(d.Releases) - 1; i >= 0; i-- {
		req, err := d.request(render.OpHelmUninstall, i, nil)
		if err != nil {
			return charts, err
		}
		rel := req.Helm.Release
		charts = append(charts, d.chart(rel.Chart))
		resp, err := render.Call(ctx, req, d.Log)
		if err != nil {
			return charts, err
		}
		gone, _ := kubectl.Resources("release "+rel.Name, []byte(resp.Manifests), rel.Namespace)
		for _, res := range gone {
			res.Action = "deleted"
			r.Applied(res)
		}
	}
	return charts, nil
}
