// Package deploy puts built images on a cluster, or on a Docker engine. A
// Deployer applies a config's manifests with the built images substituted
// (kubectl), or runs the images as containers (docker), and reports each
// object it touched; the status package then waits for those objects to
// become ready, or the deployer waits for its containers itself.
package deploy

import (
	"context"

	"github.com/hoist-dev/hoist/internal/build"
)

// RunIDLabel labels every object and container hoist deploys with the
// run that deployed it.
const RunIDLabel = "hoist.dev/run-id"

// Resource is one object a deploy touched.
type Resource struct {
	Group     string
	Version   string
	Kind      string
	Namespace string
	Name      string
	// Action is created, configured, unchanged or deleted.
	Action string
}

// Reporter receives what a deploy does, object by object.
type Reporter interface {
	Applied(r Resource)
}

// Deployer deploys and deletes.
type Deployer interface {
	// Name is the deployer's name in events: kubectl, helm or docker.
	Name() string
	// Deploy applies the manifests with the built images substituted and
	// returns the objects applied and the manifest files, relative to the
	// config file.
	Deploy(ctx context.Context, builds []build.Result, r Reporter) ([]Resource, []string, error)
	// Delete deletes what the manifests describe.
	Delete(ctx context.Context, r Reporter) ([]string, error)
}
