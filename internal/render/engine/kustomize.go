package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/render"
)

// kustomizeOptions turns kustomize build flags (manifests.kustomize.buildArgs)
// into the options of kustomize's library, or says which it cannot follow.
func kustomizeOptions(args []string) (*krusty.Options, error) {
	o := krusty.MakeDefaultOptions()
	// Skaffold's examples write a flag and its value in one entry.
	var split []string
	for _, a := range args {
		split = append(split, strings.Fields(a)...)
	}
	args = split
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		next := func() string {
			if hasValue {
				return value
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch name {
		case "--load-restrictor", "--load_restrictor":
			switch v := next(); v {
			case "LoadRestrictionsNone":
				o.LoadRestrictions = types.LoadRestrictionsNone
			case "LoadRestrictionsRootOnly":
				o.LoadRestrictions = types.LoadRestrictionsRootOnly
			default:
				return nil, fmt.Errorf("kustomize flag --load-restrictor %q: use LoadRestrictionsRootOnly or LoadRestrictionsNone", v)
			}
		case "--enable-alpha-plugins", "--enable-exec", "--enable-helm", "--network":
			return nil, fmt.Errorf("kustomize flag %s: hoist runs no plugins, programs or charts from a kustomization", name)
		case "--reorder":
			if v := next(); v != "legacy" && v != "none" {
				return nil, fmt.Errorf("kustomize flag --reorder %q: use legacy or none", v)
			}
		default:
			return nil, fmt.Errorf("kustomize flag %q: hoist understands --load-restrictor and --reorder", args[i])
		}
	}
	return o, nil
}

// kustomize builds the kustomization in the folder r.Path as kustomize
// build does, and returns its objects as YAML and the files it read, the
// inputs hoist dev watches.
func kustomize(r *render.KustomizeRequest) *render.Response {
	o, err := kustomizeOptions(r.Args)
	if err != nil {
		return failed(fault.New(fault.DeployManifestInvalid, err.Error(), "fix manifests.kustomize.buildArgs"))
	}
	fs := &recordingFS{FileSystem: filesys.MakeFsOnDisk()}
	res, err := krusty.MakeKustomizer(o).Run(fs, r.Path)
	if err == nil {
		var data []byte
		if data, err = res.AsYaml(); err == nil {
			return &render.Response{Manifests: string(data), Inputs: fs.files()}
		}
	}
	resp := failed(fault.Wrap(err, fault.DeployManifestInvalid,
		fmt.Sprintf("kustomize build %s", r.Path), "fix the kustomization, or check it with kustomize build"))
	resp.Inputs = fs.files()
	return resp
}

// recordingFS is the disk, remembering the files kustomize reads.
type recordingFS struct {
	filesys.FileSystem
	mu   sync.Mutex
	read []string
}

func (f *recordingFS) ReadFile(path string) ([]byte, error) {
	f.mu.Lock()
	if !slices.Contains(f.read, path) {
		f.read = append(f.read, path)
	}
	f.mu.Unlock()
	return f.FileSystem.ReadFile(path)
}

func (f *recordingFS) files() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.read))
}
