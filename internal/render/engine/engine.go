// Package engine is hoist-render's side of package render: it builds
// kustomizations with kustomize's library, and renders, installs,
// upgrades and uninstalls Helm releases with Helm's SDK. Only
// cmd/hoist-render links it; hoist itself must not (see package render).
package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
)

// Serve reads one request from in, does it, and writes the answer to out.
// Failures are answers too; Serve returns an error only when it cannot
// write one.
func Serve(ctx context.Context, in io.Reader, out io.Writer, log io.Writer) error {
	var req render.Request
	resp := &render.Response{}
	switch err := json.NewDecoder(in).Decode(&req); {
	case err != nil:
		resp = failed(fault.Wrap(err, fault.DeployRendererMissing, "reading the request"))
	case req.Protocol != render.Protocol:
		resp = failed(fault.New(fault.DeployRendererMissing,
			fmt.Sprintf("hoist speaks protocol %d, %s %d", req.Protocol, render.Program, render.Protocol),
			"install the "+render.Program+" built with this hoist (make build)"))
	default:
		resp = do(ctx, &req, log)
	}
	resp.Protocol = render.Protocol
	return json.NewEncoder(out).Encode(resp)
}

func do(ctx context.Context, req *render.Request, log io.Writer) *render.Response {
	switch {
	case req.Op == render.OpKustomize && req.Kustomize != nil:
		return kustomize(req.Kustomize)
	case req.Helm != nil && (req.Op == render.OpHelmTemplate || req.Op == render.OpHelmUpgrade || req.Op == render.OpHelmUninstall):
		return helm(ctx, req.Op, req.Helm, log)
	}
	return failed(fault.New(fault.DeployRendererMissing, fmt.Sprintf("unknown request %q", req.Op),
		"install the "+render.Program+" built with this hoist (make build)"))
}

func failed(err error) *render.Response {
	return &render.Response{Error: render.ErrorOf(err)}
}
