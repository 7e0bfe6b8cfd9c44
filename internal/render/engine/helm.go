package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/downloader"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/registry"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"

	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
)

// defaultTimeout bounds an install, upgrade or uninstall that sets none,
// as helm's --timeout does.
const defaultTimeout = 5 * time.Minute

// helmRun is one Helm request: its settings, scratch folder and log.
type helmRun struct {
	req      *render.HelmRequest
	rel      *render.HelmRelease
	settings *cli.EnvSettings
	log      io.Writer
	logger   *slog.Logger
	scratch  string
}

func helm(ctx context.Context, op string, r *render.HelmRequest, log io.Writer) *render.Response {
	scratch, err := os.MkdirTemp("", "hoist-helm-")
	if err != nil {
		return failed(err)
	}
	defer func() {
		if err := os.RemoveAll(scratch); err != nil {
			_, _ = fmt.Fprintf(log, "removing %s: %v\n", scratch, err)
		}
	}()
	// Helm writes repository indexes under its cache home, whatever the
	// settings say; keep them in the scratch folder too.
	_ = os.Setenv("HELM_CACHE_HOME", filepath.Join(scratch, "cache"))
	s := cli.New()
	s.KubeConfig, s.KubeContext = r.Kubeconfig, r.KubeContext
	s.SetNamespace(r.Release.Namespace)
	s.RepositoryCache = filepath.Join(scratch, "repository")
	s.ContentCache = filepath.Join(scratch, "content")
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	h := &helmRun{req: r, rel: &r.Release, settings: s, log: log, logger: logger, scratch: scratch}
	switch op {
	case render.OpHelmTemplate:
		return h.template(ctx)
	case render.OpHelmUpgrade:
		return h.upgrade(ctx)
	default:
		return h.uninstall()
	}
}

// chartErr is a problem of the chart or its values.
func (h *helmRun) chartErr(err error, what string) *render.Response {
	return failed(fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: %s", h.rel.Name, what),
		"fix the chart or the release's values; helm template shows the same error"))
}

// helmErr is a failure of Helm against the cluster.
func (h *helmRun) helmErr(err error, what string) *render.Response {
	msg := fmt.Sprintf("release %s in namespace %s: %s", h.rel.Name, h.rel.Namespace, what)
	if strings.Contains(err.Error(), "cluster unreachable") {
		return failed(fault.Wrap(err, fault.DeployClusterUnreachable, msg, "check the kubeconfig context (--kube-context) and that the cluster is up"))
	}
	if rendering(err) {
		return h.chartErr(err, what)
	}
	return failed(fault.Wrap(err, fault.DeployHelmFailed, msg,
		fmt.Sprintf("helm history %s -n %s and helm status show the release as Helm left it", h.rel.Name, h.rel.Namespace)))
}

// rendering tells a template's failure from the cluster's: Helm's errors
// are not typed.
func rendering(err error) bool {
	s := err.Error()
	return strings.Contains(s, "execution error at") || strings.Contains(s, "parse error at") ||
		strings.Contains(s, "template: ") || strings.Contains(s, "error converting YAML to JSON")
}

// plainHTTP tells whether to reach a chart's registry without TLS: when
// asked, and for registries on loopback, as Docker does.
func (h *helmRun) plainHTTP() bool {
	if h.rel.PlainHTTP {
		return true
	}
	ref := h.rel.Chart
	if h.rel.Repo != "" {
		ref = h.rel.Repo
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func (h *helmRun) registryClient() (*registry.Client, error) {
	opts := []registry.ClientOption{registry.ClientOptEnableCache(true), registry.ClientOptWriter(h.log),
		registry.ClientOptCredentialsFile(h.settings.RegistryConfig)}
	if h.plainHTTP() {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	return registry.NewClient(opts...)
}

// chart loads the release's chart: a local one with its dependencies
// built (unless skipped) and packaged if asked, or a remote one fetched.
func (h *helmRun) chart() (*chartv2.Chart, *render.Response) {
	rc, err := h.registryClient()
	if err != nil {
		return nil, h.chartErr(err, "creating the registry client")
	}
	path := h.rel.Chart
	local := h.rel.Repo == "" && !strings.Contains(path, "://")
	if local {
		if _, err := os.Stat(path); err != nil {
			return nil, failed(fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: chart %s does not exist", h.rel.Name, path),
				"fix chartPath, which is relative to skaffold.yaml"))
		}
		if info, _ := os.Stat(path); info != nil && info.IsDir() && !h.rel.SkipBuildDependencies {
			if resp := h.buildDependencies(path, rc); resp != nil {
				return nil, resp
			}
		}
		if p := h.rel.Packaged; p != nil {
			pkg := action.NewPackage()
			pkg.Destination, pkg.Version, pkg.AppVersion = h.scratch, p.Version, p.AppVersion
			if path, err = pkg.Run(path, nil); err != nil {
				return nil, h.chartErr(err, "packaging the chart")
			}
		}
	} else {
		in := action.NewInstall(action.NewConfiguration())
		in.SetRegistryClient(rc)
		in.RepoURL, in.Version, in.PlainHTTP = h.rel.Repo, h.rel.Version, h.plainHTTP()
		in.InsecureSkipTLSVerify = h.rel.InsecureSkipTLSVerify
		if path, err = in.LocateChart(h.rel.Chart, h.settings); err != nil {
			where := h.rel.Chart
			if h.rel.Repo != "" {
				where += " in " + h.rel.Repo
			}
			if h.rel.Version != "" {
				where += " version " + h.rel.Version
			}
			return nil, failed(fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: fetching chart %s", h.rel.Name, where),
				"check remoteChart, repo and version, and that the registry or repository is reachable"))
		}
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, h.chartErr(err, "loading chart "+h.rel.Chart)
	}
	if ac, err := ci.NewAccessor(ch); err == nil {
		if deps := ac.MetaDependencies(); len(deps) > 0 {
			if err := action.CheckDependencies(ch, deps); err != nil {
				return nil, h.chartErr(err, "chart "+h.rel.Chart+" lacks dependencies (remove skipBuildDependencies, or run helm dependency build)")
			}
		}
	}
	return ch, nil
}

func (h *helmRun) buildDependencies(dir string, rc *registry.Client) *render.Response {
	ch, err := loader.Load(dir)
	if err != nil {
		return h.chartErr(err, "loading chart "+dir)
	}
	if len(ch.Metadata.Dependencies) == 0 {
		return nil
	}
	m := &downloader.Manager{Out: h.log, ChartPath: dir, SkipUpdate: true, Getters: getter.All(h.settings),
		RegistryClient: rc, RepositoryConfig: h.settings.RepositoryConfig, RepositoryCache: h.settings.RepositoryCache,
		ContentCache: h.settings.ContentCache}
	if err := m.Build(); err != nil {
		return h.chartErr(err, "building the dependencies of chart "+dir)
	}
	return nil
}

// values merges the release's values as helm does: the values files, the
// overrides, then --set, --set-string and --set-file.
func (h *helmRun) values() (map[string]any, *render.Response) {
	files := h.rel.ValuesFiles
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return nil, failed(fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("release %s: values file %s does not exist", h.rel.Name, f),
				"fix valuesFiles, which are relative to skaffold.yaml"))
		}
	}
	if len(h.rel.Overrides) > 0 {
		data, err := yaml.Marshal(h.rel.Overrides)
		if err != nil {
			return nil, h.chartErr(err, "overrides")
		}
		f := filepath.Join(h.scratch, "overrides.yaml")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			return nil, failed(err)
		}
		files = append(slicesClone(files), f)
	}
	o := &values.Options{ValueFiles: files, Values: h.rel.Set, StringValues: h.rel.SetString, FileValues: h.rel.SetFiles}
	vals, err := o.MergeValues(getter.All(h.settings))
	if err != nil {
		return nil, h.chartErr(err, "reading its values")
	}
	return vals, nil
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// inputs loads the release's chart and merges its values.
func (h *helmRun) inputs() (*chartv2.Chart, map[string]any, *render.Response) {
	ch, resp := h.chart()
	if resp != nil {
		return nil, nil, resp
	}
	vals, resp := h.values()
	return ch, vals, resp
}

// released is the release an action returned, which Helm types as any.
func (h *helmRun) released(r any) (*release.Release, *render.Response) {
	rel, ok := r.(*release.Release)
	if !ok || rel == nil {
		return nil, failed(fault.New(fault.DeployHelmFailed,
			fmt.Sprintf("release %s: Helm returned a %T, not a release", h.rel.Name, r), "report this as a bug of hoist"))
	}
	return rel, nil
}

// releaseOf says what Helm's release is.
func releaseOf(rel *release.Release) *render.Release {
	return &render.Release{Name: rel.Name, Namespace: rel.Namespace, Chart: rel.Chart.Metadata.Name,
		ChartVersion: rel.Chart.Metadata.Version, Revision: rel.Version, Status: rel.Info.Status.String()}
}

// template renders the release as helm template does: its objects, then
// its hooks, tests included unless skipped.
func (h *helmRun) template(ctx context.Context) *render.Response {
	ch, vals, resp := h.inputs()
	if resp != nil {
		return resp
	}
	in := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(h.logger.Handler())))
	in.DryRunStrategy = action.DryRunClient
	in.ReleaseName, in.Namespace = h.rel.Name, h.rel.Namespace
	in.Replace, in.IncludeCRDs = true, true
	r, err := in.RunWithContext(ctx, ch, vals)
	if err != nil {
		return h.chartErr(err, "rendering chart "+h.rel.Chart)
	}
	rel, resp := h.released(r)
	if resp != nil {
		return resp
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(rel.Manifest))
	for _, hook := range rel.Hooks {
		if h.rel.SkipTests && isTest(hook) {
			continue
		}
		fmt.Fprintf(&b, "\n---\n# Source: %s\n%s", hook.Path, strings.TrimSpace(hook.Manifest))
	}
	b.WriteString("\n")
	return &render.Response{Manifests: b.String()}
}

func isTest(hook *release.Hook) bool {
	for _, e := range hook.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// configuration is an action configuration on the request's cluster,
// keeping releases in Secrets of the release's namespace as helm does.
func (h *helmRun) configuration() (*action.Configuration, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(h.logger.Handler()))
	return cfg, cfg.Init(h.settings.RESTClientGetter(), h.rel.Namespace, "secret")
}

// postRenderer replaces the built images left in the rendered objects and
// labels each with the run id and --label's, as hoist does to raw
// manifests; with
// restart set, it also stamps pod templates so that their pods are
// replaced (recreatePods).
type postRenderer struct {
	req     *render.HelmRequest
	restart string
}

func (p *postRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := kubectl.Hydrate("release "+p.req.Release.Name, in.Bytes(), p.req.Builds, p.req.Selector, deploy.Labels(p.req.RunID, p.req.Labels))
	if err != nil {
		return nil, err
	}
	if p.restart != "" {
		if out, err = kubectl.Restart(out, p.restart); err != nil {
			return nil, err
		}
	}
	return bytes.NewBuffer(out), nil
}

// upgrade installs the release, or upgrades it when it exists, as helm
// upgrade --install does, and answers its objects with those of the
// revision before.
func (h *helmRun) upgrade(ctx context.Context) *render.Response {
	ch, vals, resp := h.inputs()
	if resp != nil {
		return resp
	}
	cfg, err := h.configuration()
	if err != nil {
		return h.helmErr(err, "connecting to the cluster")
	}
	hist := action.NewHistory(cfg)
	hist.Max = 1
	revisions, err := hist.Run(h.rel.Name)
	missing := errors.Is(err, driver.ErrReleaseNotFound)
	if err != nil && !missing {
		return h.helmErr(err, "reading the release's history")
	}
	var previous string
	var last *release.Release
	uninstalled := false
	if len(revisions) > 0 {
		if last, resp = h.released(revisions[len(revisions)-1]); resp != nil {
			return resp
		}
		uninstalled = last.Info.Status == rcommon.StatusUninstalled
		if !uninstalled {
			previous = last.Manifest
		}
	}
	if previous != "" && h.rel.KeepInstalled {
		kept := releaseOf(last)
		kept.Previous, kept.Kept = previous, true
		return &render.Response{Manifests: previous, Release: kept}
	}
	wait := kube.HookOnlyStrategy
	if h.rel.Wait {
		wait = kube.StatusWatcherStrategy
	}
	timeout := h.req.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	pr := &postRenderer{req: h.req}
	var r any
	if missing || uninstalled || len(revisions) == 0 {
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace, in.WaitStrategy, in.Timeout = h.rel.Name, h.rel.Namespace, wait, timeout
		in.CreateNamespace, in.RollbackOnFailure, in.ForceReplace = h.rel.CreateNamespace, h.rel.Atomic, h.rel.Force
		in.Replace = uninstalled
		in.PostRenderer = pr
		r, err = in.RunWithContext(ctx, ch, vals)
	} else {
		if h.rel.RecreatePods {
			pr.restart = time.Now().UTC().Format(time.RFC3339Nano)
		}
		up := action.NewUpgrade(cfg)
		up.Namespace, up.WaitStrategy, up.Timeout = h.rel.Namespace, wait, timeout
		up.RollbackOnFailure, up.ForceReplace = h.rel.Atomic, h.rel.Force
		up.PostRenderer = pr
		r, err = up.RunWithContext(ctx, h.rel.Name, ch, vals)
	}
	if err != nil {
		verb := "upgrading"
		if previous == "" {
			verb = "installing"
		}
		return h.helmErr(err, fmt.Sprintf("%s chart %s", verb, h.rel.Chart))
	}
	rel, resp := h.released(r)
	if resp != nil {
		return resp
	}
	done := releaseOf(rel)
	done.Previous = previous
	return &render.Response{Manifests: rel.Manifest, Release: done}
}

// uninstall uninstalls the release and answers the objects it had; a
// release that is not installed is not an error.
func (h *helmRun) uninstall() *render.Response {
	cfg, err := h.configuration()
	if err != nil {
		return h.helmErr(err, "connecting to the cluster")
	}
	u := action.NewUninstall(cfg)
	u.WaitStrategy, u.Timeout = kube.HookOnlyStrategy, defaultTimeout
	r, err := u.Run(h.rel.Name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return &render.Response{}
	}
	if err != nil {
		return h.helmErr(err, "uninstalling")
	}
	resp := &render.Response{}
	if r != nil {
		if rel, ok := r.Release.(*release.Release); ok && rel != nil {
			resp.Manifests, resp.Release = rel.Manifest, releaseOf(rel)
		}
	}
	return resp
}
