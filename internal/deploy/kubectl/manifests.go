package kubectl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/fault"
)

// RunIDLabel labels every object hoist applies with the run that applied it.
const RunIDLabel = "hoist.dev/run-id"

// manifest is one object of one manifest file.
type manifest struct {
	file string // relative to the config folder
	line int
	obj  *unstructured.Unstructured
}

// expand returns the files the globs match, relative to dir, in glob order
// and without repeats. A glob that matches nothing is an error.
func expand(dir string, globs []string) ([]string, error) {
	var files []string
	for _, g := range globs {
		pattern := g
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(dir, pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fault.Wrap(err, fault.DeployManifestNotFound,
				fmt.Sprintf("manifest pattern %q is malformed", g))
		}
		var found bool
		for _, m := range matches {
			if st, err := os.Stat(m); err != nil || st.IsDir() {
				continue
			}
			if ext := strings.ToLower(filepath.Ext(m)); ext != ".yaml" && ext != ".yml" && ext != ".json" {
				continue
			}
			found = true
			rel, err := filepath.Rel(dir, m)
			if err != nil || !filepath.IsLocal(rel) {
				rel = m
			}
			rel = filepath.ToSlash(rel)
			if !slices.Contains(files, rel) {
				files = append(files, rel)
			}
		}
		if !found {
			return nil, fault.New(fault.DeployManifestNotFound,
				fmt.Sprintf("manifest pattern %q matches no YAML file in %s", g, dir),
				"fix deploy.kubectl.manifests (or manifests.rawYaml); patterns are relative to skaffold.yaml")
		}
	}
	return files, nil
}

// read parses every object of the files, in order.
func read(dir string, files []string) ([]manifest, error) {
	var out []manifest
	for _, f := range files {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, f)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fault.Wrap(err, fault.DeployManifestNotFound, "reading manifest "+f)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fault.New(fault.DeployManifestInvalid,
					fmt.Sprintf("%s: %s", f, strings.TrimPrefix(err.Error(), "yaml: ")),
					"fix the YAML of this manifest")
			}
			if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
				continue
			}
			line := doc.Content[0].Line
			raw, err := yaml.Marshal(doc.Content[0])
			if err == nil {
				raw, err = sigsyaml.YAMLToJSON(raw)
			}
			obj := &unstructured.Unstructured{}
			if err == nil {
				err = obj.UnmarshalJSON(raw)
			}
			if err != nil {
				return nil, fault.New(fault.DeployManifestInvalid,
					fmt.Sprintf("%s:%d: not a Kubernetes object: %v", f, line, err),
					"each document needs apiVersion, kind and metadata.name")
			}
			if obj.GetName() == "" && obj.GetGenerateName() == "" {
				return nil, fault.New(fault.DeployManifestInvalid,
					fmt.Sprintf("%s:%d: %s has no metadata.name", f, line, obj.GetKind()), "give the object a name")
			}
			out = append(out, manifest{file: f, line: line, obj: obj})
		}
	}
	return out, nil
}

// podSpecPaths are where workload kinds keep their pod spec.
var podSpecPaths = map[string][]string{
	"Pod":         {"spec"},
	"Deployment":  {"spec", "template", "spec"},
	"ReplicaSet":  {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
}

// substitute replaces every container and init container image that names
// a built artifact with the built reference: tag@digest when it was pushed.
func substitute(obj *unstructured.Unstructured, builds []build.Result) {
	path, ok := podSpecPaths[obj.GetKind()]
	if !ok {
		return
	}
	refs := map[string]string{}
	for _, b := range builds {
		ref := b.Tag
		if b.Pushed && b.Digest != "" {
			ref += "@" + b.Digest
		}
		refs[b.ImageName] = ref
		refs[build.Repository(b.Tag)] = ref
	}
	// The images are replaced in place. A pod spec that is not a map is
	// left as it is: applying it fails with the API server's own message.
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	spec, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, field := range []string{"initContainers", "containers"} {
		containers, _ := spec[field].([]any)
		for _, c := range containers {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			img, _ := cm["image"].(string)
			if ref, ok := refs[build.Repository(img)]; ok {
				cm["image"] = ref
			}
		}
	}
}

// label sets the run id label on an object.
func label(obj *unstructured.Unstructured, runID string) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[RunIDLabel] = runID
	obj.SetLabels(labels)
}
