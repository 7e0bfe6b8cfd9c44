package kubectl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
)

// RunIDLabel labels every object hoist applies with the run that applied it.
const RunIDLabel = deploy.RunIDLabel

// manifest is one object of one manifest file.
type manifest struct {
	file string // relative to the config folder
	line int
	obj  *unstructured.Unstructured
	// owner are the render hooks of the config whose manifests the object
	// is of, if that config has any.
	owner *config.RenderHooks
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
		objs, err := parseManifests(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// parseManifests parses the objects of one stream of YAML documents; f
// names it in errors.
func parseManifests(f string, data []byte) ([]manifest, error) {
	var out []manifest
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
// sel widens that to other objects' image fields, or keeps kinds out.
func substitute(obj *unstructured.Unstructured, builds []build.Result, sel ...config.ResourceSelector) {
	refs := map[string]string{}
	for _, b := range builds {
		ref := b.Reference()
		refs[b.ImageName] = ref
		refs[build.Repository(b.Tag)] = ref
	}
	gk := groupKind(obj)
	for _, s := range sel {
		for _, f := range s.Deny {
			if f.GroupKind == gk {
				return
			}
		}
		for _, f := range s.Allow {
			if f.GroupKind == gk {
				substituteFields(obj.Object, "", f.Image, refs)
			}
		}
	}
	path, ok := podSpecPaths[obj.GetKind()]
	if !ok {
		return
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

// groupKind is the object's Kind.group, or Kind for the core group, as
// resourceSelector names them.
func groupKind(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	if gvk.Group == "" {
		return gvk.Kind
	}
	return gvk.Kind + "." + gvk.Group
}

// substituteFields replaces, below v at path, every string field named
// image whose path (such as .spec.containers.0.image) matches one of
// patterns and whose value names a built artifact.
func substituteFields(v any, path string, patterns []string, refs map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			p := path + "." + k
			if s, ok := child.(string); ok && k == "image" && pathMatches(p, patterns) {
				if ref, ok := refs[build.Repository(s)]; ok {
					t[k] = ref
				}
				continue
			}
			substituteFields(child, p, patterns, refs)
		}
	case []any:
		for i, child := range t {
			substituteFields(child, path+"."+strconv.Itoa(i), patterns, refs)
		}
	}
}

func pathMatches(path string, patterns []string) bool {
	for _, p := range patterns {
		// Validated when the config loaded.
		if re, err := regexp.Compile(p); err == nil && re.MatchString(path) {
			return true
		}
	}
	return false
}

// label sets labels (the run id label, and those of --label) on an
// object and, for a workload, on its pod template, so that the run finds
// its pods (to follow their logs) by the run id label, as Skaffold labels
// pod templates with skaffold.dev/run-id and its custom labels. A new run
// id so changes the pod template: each run rolls the workloads out, as
// each Skaffold run does, while the iterations of one hoist dev session
// share the run id and roll out only for a new image or manifest. A Job's
// pod template cannot change: a Job deployed by an earlier run must be
// deleted before the next, as for a new image.
func label(obj *unstructured.Unstructured, labels map[string]string) {
	if len(labels) == 0 {
		return
	}
	objLabels := obj.GetLabels()
	if objLabels == nil {
		objLabels = map[string]string{}
	}
	maps.Copy(objLabels, labels)
	obj.SetLabels(objLabels)
	path, ok := podSpecPaths[obj.GetKind()]
	if !ok || len(path) < 2 {
		return
	}
	// A template whose metadata or labels are not maps is left as it is:
	// applying it fails with the API server's own message.
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path[:len(path)-1]...)
	template, ok := v.(map[string]any)
	if !ok {
		return
	}
	meta := child(template, "metadata")
	if meta == nil {
		return
	}
	if podLabels := child(meta, "labels"); podLabels != nil {
		for k, v := range labels {
			podLabels[k] = v
		}
	}
}

// child returns the map m holds at key, made when m holds nothing there,
// or nil when m holds something else.
func child(m map[string]any, key string) map[string]any {
	switch v := m[key].(type) {
	case map[string]any:
		return v
	case nil:
		c := map[string]any{}
		m[key] = c
		return c
	}
	return nil
}

// Hydrate does to a stream of YAML objects what Deploy does to the
// manifests it applies: it replaces the built images and sets labels
// (deploy.Labels: the run id and --label's) on each object and pod
// template. Helm's post-renderer uses it; source names the stream in
// errors.
func Hydrate(source string, data []byte, builds []build.Result, sel config.ResourceSelector, labels map[string]string) ([]byte, error) {
	objs, err := parseManifests(source, data)
	if err != nil {
		return nil, err
	}
	for _, m := range objs {
		substitute(m.obj, builds, sel)
		label(m.obj, labels)
	}
	return encode(objs)
}

// encode writes objects as a stream of YAML documents.
func encode(objs []manifest) ([]byte, error) {
	var out bytes.Buffer
	for i, m := range objs {
		j, err := m.obj.MarshalJSON()
		if err != nil {
			return nil, err
		}
		y, err := sigsyaml.JSONToYAML(j)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(y)
	}
	return out.Bytes(), nil
}

// Resources lists the objects of a stream of YAML objects, those that name
// no namespace in namespace, in the order written; source names the
// stream in errors.
func Resources(source string, data []byte, namespace string) ([]deploy.Resource, error) {
	objs, err := parseManifests(source, data)
	if err != nil {
		return nil, err
	}
	out := make([]deploy.Resource, 0, len(objs))
	for _, m := range objs {
		gvk := m.obj.GroupVersionKind()
		r := deploy.Resource{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: m.obj.GetNamespace(), Name: m.obj.GetName()}
		if r.Namespace == "" && !clusterScoped[gvk.Kind] {
			r.Namespace = namespace
		}
		out = append(out, r)
	}
	return out, nil
}

// clusterScoped are the built-in kinds that live outside namespaces, for
// listing objects without asking a cluster.
var clusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"PersistentVolume": true, "StorageClass": true, "PriorityClass": true, "IngressClass": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true, "APIService": true,
	"RuntimeClass": true, "Node": true,
}

// RestartedAtAnnotation, set on pod templates, makes their workloads
// replace their pods, as kubectl rollout restart does.
const RestartedAtAnnotation = "hoist.dev/restartedAt"

// Restart stamps the pod template of every workload in a stream of YAML
// objects with at, so that applying them replaces the pods.
func Restart(data []byte, at string) ([]byte, error) {
	objs, err := parseManifests("restart", data)
	if err != nil {
		return nil, err
	}
	for _, m := range objs {
		if path, ok := podSpecPaths[m.obj.GetKind()]; ok && len(path) > 1 {
			meta := append(slices.Clone(path[:len(path)-1]), "metadata", "annotations")
			_ = unstructured.SetNestedField(m.obj.Object, at, append(meta, RestartedAtAnnotation)...)
		}
	}
	return encode(objs)
}
