// Package render runs hoist-render, hoist's companion program that holds
// kustomize and Helm's SDK, and carries its requests and answers.
//
// kustomize and Helm stay out of hoist's own binary on purpose. Linking
// them makes it about three times as large, and a Go program's resident
// memory grows with its binary: every run, including the many that use
// neither, would pay for them (measured: kustomize alone took a 1M-line
// build's peak RSS from 62 to 92 MiB). hoist starts hoist-render only
// when a config renders with kustomize or Helm, once per request, and
// talks to it in JSON over its standard input and output.
//
// hoist finds hoist-render in $HOIST_RENDER, else beside its own
// executable, else on $PATH; `make build` and `go install ./cmd/...`
// install both.
package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// Program is the companion program's name.
const Program = "hoist-render"

// Protocol is the version of the requests and answers; hoist and
// hoist-render refuse to talk across versions. 2: HelmRequest.Labels.
const Protocol = 2

// Operations.
const (
	OpKustomize     = "kustomize"
	OpHelmTemplate  = "helm-template"
	OpHelmUpgrade   = "helm-upgrade"
	OpHelmUninstall = "helm-uninstall"
)

// Request is one thing for hoist-render to do.
type Request struct {
	Protocol  int               `json:"protocol"`
	Op        string            `json:"op"`
	Kustomize *KustomizeRequest `json:"kustomize,omitempty"`
	Helm      *HelmRequest      `json:"helm,omitempty"`
}

// KustomizeRequest builds a kustomization as `kustomize build` does.
type KustomizeRequest struct {
	// Path is the kustomization's folder, absolute.
	Path string `json:"path"`
	// Args are manifests.kustomize.buildArgs.
	Args []string `json:"args,omitempty"`
}

// Response is what hoist-render answers.
type Response struct {
	Protocol int    `json:"protocol"`
	Error    *Error `json:"error,omitempty"`
	// Manifests are the rendered objects, as a YAML stream.
	Manifests string `json:"manifests,omitempty"`
	// Inputs are the files the rendering read (absolute): what hoist dev
	// watches to render again.
	Inputs []string `json:"inputs,omitempty"`
	// Release is what a Helm install, upgrade or uninstall did.
	Release *Release `json:"release,omitempty"`
}

// Error is a fault.Error on the wire.
type Error struct {
	Code        string   `json:"code"`
	Message     string   `json:"message"`
	Suggestions []string `json:"suggestions,omitempty"`
}

// ErrorOf turns err into its wire form.
func ErrorOf(err error) *Error {
	if f := fault.As(err); f != nil {
		return &Error{Code: string(f.Code), Message: f.Error(), Suggestions: f.Suggestions}
	}
	return &Error{Code: string(fault.Unknown), Message: err.Error()}
}

// Path returns where hoist-render is: $HOIST_RENDER, else beside hoist's
// executable, else on $PATH.
func Path() (string, error) {
	if p := os.Getenv("HOIST_RENDER"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), Program)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(Program); err == nil {
		return p, nil
	}
	return "", fault.New(fault.DeployRendererMissing,
		Program+", which renders kustomize and Helm for hoist, is neither beside hoist nor on $PATH",
		"install it with make build (bin/hoist-render) or go install github.com/hoist-dev/hoist/cmd/hoist-render, beside hoist; or set HOIST_RENDER to its path")
}

// Call sends req to a new hoist-render and returns its answer; an error
// it answers with comes back as a *fault.Error with its code. What
// hoist-render logs on its standard error goes to log, if not nil.
func Call(ctx context.Context, req *Request, log io.Writer) (*Response, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	req.Protocol = Protocol
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdin, cmd.Stdout = bytes.NewReader(in), &out
	cmd.Stderr = &stderr
	if log != nil {
		cmd.Stderr = io.MultiWriter(&stderr, log)
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var resp Response
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		msg := fmt.Sprintf("%s (%s) did not answer %s", Program, path, req.Op)
		if runErr != nil {
			msg += ": " + runErr.Error()
		}
		if tail := lastLines(stderr.String(), 10); tail != "" {
			msg += "\n" + tail
		}
		return nil, fault.Wrap(err, fault.DeployRendererMissing, msg,
			"check that "+Program+" is the one built with this hoist (make build)")
	}
	if resp.Protocol != Protocol {
		return nil, fault.New(fault.DeployRendererMissing,
			fmt.Sprintf("%s (%s) speaks protocol %d, hoist %d", Program, path, resp.Protocol, Protocol),
			"install the "+Program+" built with this hoist (make build)")
	}
	if e := resp.Error; e != nil {
		return &resp, fault.New(fault.Code(e.Code), e.Message, e.Suggestions...)
	}
	return &resp, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Kustomize builds the kustomization in folder path with kustomize's
// buildArgs, and returns its objects as YAML and the files it read.
func Kustomize(ctx context.Context, path string, args []string) ([]byte, []string, error) {
	resp, err := Call(ctx, &Request{Op: OpKustomize, Kustomize: &KustomizeRequest{Path: path, Args: args}}, nil)
	if resp == nil {
		return nil, nil, err
	}
	return []byte(resp.Manifests), resp.Inputs, err
}

// HelmRequest renders, installs, upgrades or uninstalls one release.
type HelmRequest struct {
	// Kubeconfig and KubeContext choose the cluster; Namespace is the
	// release's namespace.
	Kubeconfig  string      `json:"kubeconfig,omitempty"`
	KubeContext string      `json:"kubeContext,omitempty"`
	Namespace   string      `json:"namespace"`
	Release     HelmRelease `json:"release"`
	// Builds replace the artifact images left in the rendered objects, as
	// in raw manifests, widened or narrowed by Selector; RunID and Labels
	// (--label) label every object and pod template.
	Builds   []build.Result          `json:"builds,omitempty"`
	Selector config.ResourceSelector `json:"selector,omitempty"`
	RunID    string                  `json:"runID,omitempty"`
	Labels   map[string]string       `json:"labels,omitempty"`
	// Timeout bounds a wait for the release's resources.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// HelmRelease is a release as hoist resolved it: paths absolute,
// setValueTemplates expanded.
type HelmRelease struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Chart is a chart folder or packaged chart (absolute), an oci://
	// reference, or with Repo a chart name in that repository.
	Chart   string `json:"chart"`
	Repo    string `json:"repo,omitempty"`
	Version string `json:"version,omitempty"`
	// ValuesFiles are -f files, in order; Overrides come after them.
	ValuesFiles []string       `json:"valuesFiles,omitempty"`
	Overrides   map[string]any `json:"overrides,omitempty"`
	// Set are --set key=value, SetString --set-string, SetFiles
	// --set-file key=path, each in order.
	Set       []string `json:"set,omitempty"`
	SetString []string `json:"setString,omitempty"`
	SetFiles  []string `json:"setFiles,omitempty"`
	// Packaged packages a local chart with these versions first.
	Packaged *config.HelmPackaged `json:"packaged,omitempty"`
	// SkipTests leaves the chart's test hooks out of a rendering.
	SkipTests bool `json:"skipTests,omitempty"`
	// SkipBuildDependencies leaves a local chart's charts/ as it is;
	// otherwise its dependencies are built as helm dependency build does.
	SkipBuildDependencies bool `json:"skipBuildDependencies,omitempty"`
	CreateNamespace       bool `json:"createNamespace,omitempty"`
	Wait                  bool `json:"wait,omitempty"`
	// KeepInstalled leaves a release that is installed as it is, rather
	// than upgrading it (upgradeOnChange: false; by default for remote
	// charts, as Skaffold does).
	KeepInstalled bool `json:"keepInstalled,omitempty"`
	// RecreatePods restarts the release's workloads on upgrade.
	RecreatePods bool `json:"recreatePods,omitempty"`
	// Atomic rolls a failed install or upgrade back; Force replaces
	// resources that cannot be updated in place.
	Atomic bool `json:"atomic,omitempty"`
	Force  bool `json:"force,omitempty"`
	// PlainHTTP reaches registries and repositories on loopback without
	// TLS; InsecureSkipTLSVerify skips checking their certificates.
	PlainHTTP             bool `json:"plainHTTP,omitempty"`
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

// Release is what Helm did to a release.
type Release struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Chart        string `json:"chart"`
	ChartVersion string `json:"chartVersion"`
	Revision     int    `json:"revision"`
	// Status is Helm's: deployed, failed, uninstalled...
	Status string `json:"status"`
	// Previous is the manifest of the revision before, to tell created
	// objects from configured and deleted ones.
	Previous string `json:"previous,omitempty"`
	// Kept says the installed release was left as it was (KeepInstalled).
	Kept bool `json:"kept,omitempty"`
}
