package engine

import (
	"context"
	"io"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
)

func helm(ctx context.Context, op string, r *render.HelmRequest, log io.Writer) *render.Response {
	return failed(fault.New(fault.DeployHelmFailed, "helm is coming"))
}
