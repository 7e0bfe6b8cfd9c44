package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoist-dev/hoist/internal/fault"
)

// artifactsFile is the build artifacts file, Skaffold's format: each image
// with the reference to deploy, by digest when it was pushed.
type artifactsFile struct {
	Builds []builtImage `json:"builds"`
}

type builtImage struct {
	ImageName string `json:"imageName"`
	Tag       string `json:"tag"`
}

// WriteArtifacts writes results to path as a build artifacts file, for
// ReadArtifacts (hoist build --file-output, then hoist deploy
// --build-artifacts).
func WriteArtifacts(path string, results []Result) error {
	out := artifactsFile{Builds: []builtImage{}}
	for _, r := range results {
		ref := r.Tag
		if r.Pushed && r.Digest != "" {
			ref += "@" + r.Digest
		}
		out.Builds = append(out.Builds, builtImage{ImageName: r.ImageName, Tag: ref})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = os.WriteFile(path, append(data, '\n'), 0o644)
		}
	}
	if err != nil {
		return fault.Wrap(err, fault.UsageInvalid, "writing the build artifacts file", "check that the folder of --file-output is writable")
	}
	return nil
}

// ReadArtifacts reads the images to deploy from a build artifacts file,
// when file is set, and from images: "name=reference", or a reference whose
// repository is the name.
func ReadArtifacts(file string, images []string) ([]Result, error) {
	var refs []builtImage
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fault.Wrap(err, fault.DeployArtifactsInvalid, "reading the build artifacts file",
				"write it with hoist build --file-output")
		}
		var in artifactsFile
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fault.Wrap(err, fault.DeployArtifactsInvalid,
				fmt.Sprintf("%s is not a build artifacts file", file), "write it with hoist build --file-output")
		}
		refs = in.Builds
	}
	fromFile := len(refs)
	for _, img := range images {
		name, ref, ok := strings.Cut(img, "=")
		if !ok {
			ref, name = img, Repository(img)
		}
		refs = append(refs, builtImage{ImageName: name, Tag: ref})
	}
	results := make([]Result, 0, len(refs))
	for i, r := range refs {
		if r.ImageName == "" || r.Tag == "" {
			where := fmt.Sprintf("%s: build %d", file, i+1)
			if i >= fromFile {
				where = fmt.Sprintf("--images %q", images[i-fromFile])
			}
			return nil, fault.New(fault.DeployArtifactsInvalid,
				fmt.Sprintf("%s (imageName %q, tag %q) needs an imageName and a tag", where, r.ImageName, r.Tag),
				"write the file with hoist build --file-output, or give --images name=reference")
		}
		tag, digest, _ := strings.Cut(r.Tag, "@")
		results = append(results, Result{ImageName: r.ImageName, Tag: tag, Digest: digest, Pushed: digest != ""})
	}
	return results, nil
}
