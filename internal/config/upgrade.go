package config

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// versions are the apiVersions Skaffold reads, oldest first: a document
// in any of them is upgraded one step at a time to the last, as Skaffold
// does, before it is decoded.
var versions = func() []string {
	var vs []string
	add := func(prefix string, n int) {
		for i := 1; i <= n; i++ {
			vs = append(vs, fmt.Sprintf("skaffold/%s%d", prefix, i))
		}
	}
	add("v1alpha", 5)
	add("v1beta", 17)
	vs = append(vs, "skaffold/v1")
	add("v2alpha", 4)
	add("v2beta", 29)
	vs = append(vs, "skaffold/v3alpha1", "skaffold/v3")
	add("v4beta", 14)
	return vs
}()

// upgradeStep rewrites a document of one apiVersion into the next. Steps
// that change no field are absent.
type upgradeStep func(u *upgrader) error

// steps are keyed by the version they upgrade from.
var steps = map[string]upgradeStep{
	"skaffold/v1alpha1": fromV1alpha1,
	"skaffold/v1alpha2": fromV1alpha2,
	"skaffold/v1alpha3": fromV1alpha3,
	"skaffold/v1alpha5": fromV1alpha5,
	"skaffold/v1beta6":  fromV1beta6,
	"skaffold/v1beta8":  fromV1beta8,
	"skaffold/v1beta9":  fromV1beta9,
	"skaffold/v1beta13": fromV1beta13,
	"skaffold/v2alpha1": fromV2alpha1,
	"skaffold/v2alpha2": fromV2alpha2,
	"skaffold/v2beta3":  fromV2beta3,
	"skaffold/v2beta4":  fromV2beta4,
	"skaffold/v2beta8":  fromV2beta8,
	"skaffold/v2beta12": fromV2beta12,
	"skaffold/v2beta16": fromV2beta16,
	"skaffold/v2beta22": fromV2beta22,
	"skaffold/v2beta27": fromV2beta27,
	"skaffold/v2beta29": fromV2beta29,
	"skaffold/v3":       fromV3,
	"skaffold/v4beta3":  fromV4beta3,
	"skaffold/v4beta4":  fromV4beta4,
	"skaffold/v4beta7":  fromV4beta7,
}

// canonicalVersion is v in Skaffold's spelling: the seed writes
// skaffold.dev/v2beta28 for skaffold/v2beta28.
func canonicalVersion(v string) string {
	if rest, ok := strings.CutPrefix(v, "skaffold.dev/"); ok {
		return "skaffold/" + rest
	}
	return v
}

// upgrader carries one document through the steps.
type upgrader struct {
	doc *yaml.Node
	// version is the version being upgraded from.
	version string
	// notes are what a step could not carry over, for the user.
	notes []string
	errs  []*Error
	at    func(n *yaml.Node, format string, args ...any) *Error
}

// upgradeDocument rewrites doc, a document of a known apiVersion, into the
// latest one in place. It returns the notes of what was lost on the way.
func upgradeDocument(doc *yaml.Node, at func(n *yaml.Node, format string, args ...any) *Error) ([]string, []*Error) {
	_, v := lookup(doc, "apiVersion")
	if v == nil {
		return nil, nil
	}
	from := slices.Index(versions, canonicalVersion(v.Value))
	if from < 0 {
		return nil, nil
	}
	u := &upgrader{doc: doc, at: at}
	for _, version := range versions[from : len(versions)-1] {
		u.version = version
		if step := steps[version]; step != nil {
			if err := step(u); err != nil {
				return u.notes, append(u.errs, at(doc, "%v", err))
			}
			if len(u.errs) > 0 {
				return u.notes, u.errs
			}
		}
	}
	if from < len(versions)-1 {
		v.Value = LatestVersion
	}
	return u.notes, nil
}

// pipelines are the document's own pipeline and each profile's, which
// every per-pipeline change applies to alike.
func (u *upgrader) pipelines() []*yaml.Node {
	out := []*yaml.Node{u.doc}
	if _, ps := lookup(u.doc, "profiles"); ps != nil && ps.Kind == yaml.SequenceNode {
		for _, p := range ps.Content {
			if p.Kind == yaml.MappingNode {
				out = append(out, p)
			}
		}
	}
	return out
}

// each calls fn with every mapping at path below each pipeline, where
// "[]" in path stands for every item of a list.
func (u *upgrader) each(path string, fn func(m *yaml.Node)) {
	for _, p := range u.pipelines() {
		walk(p, strings.Split(path, "."), fn)
	}
}

func walk(n *yaml.Node, path []string, fn func(m *yaml.Node)) {
	if n == nil {
		return
	}
	if len(path) == 0 {
		if n.Kind == yaml.MappingNode {
			fn(n)
		}
		return
	}
	if path[0] == "[]" {
		if n.Kind == yaml.SequenceNode {
			for _, item := range n.Content {
				walk(item, path[1:], fn)
			}
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	_, v := lookup(n, path[0])
	walk(v, path[1:], fn)
}

// rename renames key old to new in m, keeping its value and place.
func rename(m *yaml.Node, old, new string) {
	if k, _ := lookup(m, old); k != nil {
		if _, exists := lookup(m, new); exists == nil {
			k.Value = new
		}
	}
}

// take removes key from m and returns its value.
func take(m *yaml.Node, key string) *yaml.Node {
	v, _ := removeAt(m, "/"+escapeAll([]string{key})[0])
	return v
}

// put sets key in m to v.
func put(m *yaml.Node, key string, v *yaml.Node) {
	if _, old := lookup(m, key); old != nil {
		*old = *v
		return
	}
	m.Content = append(m.Content, scalar(key, v), v)
}

// mapping returns m's mapping under key, making it when absent: before
// deploy when m has one, where Skaffold's own layout puts manifests.
func mapping(m *yaml.Node, key string) *yaml.Node {
	if _, v := lookup(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: m.Line, Column: m.Column}
	if _, old := lookup(m, key); old != nil {
		*old = *v
		return old
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "deploy" && key == "manifests" {
			m.Content = slices.Insert(m.Content, i, scalar(key, m.Content[i]), v)
			return v
		}
	}
	put(m, key, v)
	return v
}

// scalar is a string node placed at near.
func scalar(s string, near *yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if near != nil {
		n.Line, n.Column = near.Line, near.Column
	}
	return n
}

func boolNode(b bool, near *yaml.Node) *yaml.Node {
	n := scalar(strconv.FormatBool(b), near)
	n.Tag = "!!bool"
	return n
}

func seq(near *yaml.Node, items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
	if near != nil {
		n.Line, n.Column = near.Line, near.Column
	}
	return n
}

// v1alpha1 wrote the tag policy as a string, docker settings on the
// artifact, and kubectl manifests as {paths, parameters}.
func fromV1alpha1(u *upgrader) error {
	b := mappingOrNil(u.doc, "build")
	if b != nil {
		if tp := take(b, "tagPolicy"); tp != nil && tp.Kind == yaml.ScalarNode {
			switch tp.Value {
			case "sha256", "gitCommit":
				m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: tp.Line, Column: tp.Column}
				put(m, tp.Value, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: tp.Line, Column: tp.Column})
				put(b, "tagPolicy", m)
			case "":
			default:
				u.notes = append(u.notes, fmt.Sprintf("tagPolicy %q of %s has no equivalent; the default applies", tp.Value, u.version))
			}
		}
	}
	walk(u.doc, []string{"build", "artifacts", "[]"}, func(a *yaml.Node) {
		df, args := take(a, "dockerfilePath"), take(a, "buildArgs")
		if df == nil && args == nil {
			return
		}
		d := mapping(a, "docker")
		if df != nil {
			put(d, "dockerfilePath", df)
		}
		if args != nil {
			put(d, "buildArgs", args)
		}
	})
	if d := mappingOrNil(u.doc, "deploy"); d != nil {
		take(d, "name")
	}
	walk(u.doc, []string{"deploy", "kubectl"}, func(k *yaml.Node) {
		_, ms := lookup(k, "manifests")
		if ms == nil || ms.Kind != yaml.SequenceNode {
			return
		}
		var paths []*yaml.Node
		for _, m := range ms.Content {
			if m.Kind == yaml.MappingNode {
				if _, ps := lookup(m, "paths"); ps != nil {
					paths = append(paths, ps.Content...)
				}
				if _, params := lookup(m, "parameters"); params != nil {
					u.notes = append(u.notes, "kubectl manifest parameters of skaffold/v1alpha1 are dropped; check the manifests")
				}
			} else {
				paths = append(paths, m)
			}
		}
		ms.Content = paths
	})
	return nil
}

func mappingOrNil(m *yaml.Node, key string) *yaml.Node {
	if _, v := lookup(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	return nil
}

func fromV1alpha2(u *upgrader) error {
	if k := mappingOrNil(mappingOrNil(u.doc, "build"), "kaniko"); k != nil {
		if g := take(k, "gcsBucket"); g != nil {
			put(mapping(k, "buildContext"), "gcsBucket", g)
		}
	}
	u.each("deploy.helm.releases.[]", func(r *yaml.Node) {
		if f := take(r, "valuesFilePath"); f != nil && f.Value != "" {
			put(r, "valuesFiles", seq(f, f))
		}
	})
	return nil
}

// v1alpha4 renamed imageName, workspace, dockerfilePath and kustomizePath,
// and turned skipPush into push.
func fromV1alpha3(u *upgrader) error {
	u.each("build.artifacts.[]", func(a *yaml.Node) {
		rename(a, "imageName", "image")
		rename(a, "workspace", "context")
	})
	u.each("build.artifacts.[].docker", func(d *yaml.Node) { rename(d, "dockerfilePath", "dockerfile") })
	u.each("deploy.kustomize", func(k *yaml.Node) { rename(k, "kustomizePath", "path") })
	u.each("build.local", func(l *yaml.Node) {
		if s := take(l, "skipPush"); s != nil {
			skip, _ := strconv.ParseBool(s.Value)
			put(l, "push", boolNode(!skip, s))
		}
	})
	return nil
}

func fromV1alpha5(u *upgrader) error {
	for _, p := range u.pipelines() {
		if k, _ := lookup(mappingOrNil(p, "build"), "acr"); k != nil {
			u.errs = append(u.errs, u.at(k, "build.acr is not supported since skaffold/v1beta1; remove it"))
		}
	}
	return nil
}

// v1beta7 made kaniko a builder of each artifact, and its cluster settings
// the build type cluster.
func fromV1beta6(u *upgrader) error {
	for _, p := range u.pipelines() {
		b := mappingOrNil(p, "build")
		if b == nil {
			continue
		}
		k := take(b, "kaniko")
		if k == nil || k.Kind != yaml.MappingNode {
			continue
		}
		builder := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: k.Line, Column: k.Column}
		cluster := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: k.Line, Column: k.Column}
		for i := 0; i+1 < len(k.Content); i += 2 {
			switch k.Content[i].Value {
			case "flags", "buildContext", "image", "cache":
				builder.Content = append(builder.Content, clone(k.Content[i]), clone(k.Content[i+1]))
			case "pullSecret", "pullSecretName", "namespace", "timeout", "dockerConfig":
				cluster.Content = append(cluster.Content, clone(k.Content[i]), clone(k.Content[i+1]))
			}
		}
		walk(b, []string{"artifacts", "[]"}, func(a *yaml.Node) { put(a, "kaniko", clone(builder)) })
		put(b, "cluster", cluster)
	}
	return nil
}

// v1beta9 dropped builder plugins and execution environments for the
// builders and build types themselves.
func fromV1beta8(u *upgrader) error {
	for _, p := range u.pipelines() {
		b := mappingOrNil(p, "build")
		if b == nil {
			continue
		}
		walk(b, []string{"artifacts", "[]"}, func(a *yaml.Node) {
			if pl := take(a, "plugin"); pl != nil {
				if _, name := lookup(pl, "name"); name != nil && (name.Value == "bazel" || name.Value == "docker") {
					_, props := lookup(pl, "properties")
					put(a, name.Value, orEmptyMap(props, pl))
				}
			}
		})
		if ee := take(b, "executionEnvironment"); ee != nil {
			if _, name := lookup(ee, "name"); name != nil && (name.Value == "googleCloudBuild" || name.Value == "local") {
				_, props := lookup(ee, "properties")
				put(b, name.Value, orEmptyMap(props, ee))
			}
		}
	}
	return nil
}

func orEmptyMap(n, near *yaml.Node) *yaml.Node {
	if n == nil || isNull(n) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: near.Line, Column: near.Column}
	}
	return n
}

var (
	syncSimple = regexp.MustCompile(`^([^*]*/)?([^*/]*\*[^*/]*|[^*/]+)$`)
)

// v1beta10 turned the sync map of src: dest into manual rules.
func fromV1beta9(u *upgrader) error {
	u.each("build.artifacts.[]", func(a *yaml.Node) {
		_, s := lookup(a, "sync")
		if s == nil || s.Kind != yaml.MappingNode {
			return
		}
		var rules []*yaml.Node
		for i := 0; i+1 < len(s.Content); i += 2 {
			src, dest := s.Content[i].Value, s.Content[i+1].Value
			var strip string
			switch {
			case syncSimple.MatchString(src):
				prefix := syncSimple.FindStringSubmatch(src)[1]
				dest, strip = simplifySync(dest, prefix)
			case strings.Contains(src, "***"):
				prefix, _, _ := strings.Cut(src, "***")
				dest, strip = simplifySync(dest, prefix)
				src = strings.ReplaceAll(src, "***", "**")
			default:
				u.notes = append(u.notes, fmt.Sprintf("sync rule %q now keeps the folder structure (since skaffold/v1beta10)", src))
			}
			rule := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: s.Content[i].Line, Column: s.Content[i].Column}
			put(rule, "src", scalar(src, s.Content[i]))
			put(rule, "dest", scalar(dest, s.Content[i+1]))
			if strip != "" {
				put(rule, "strip", scalar(strip, s.Content[i+1]))
			}
			rules = append(rules, rule)
		}
		if len(rules) == 0 {
			take(a, "sync")
			return
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: s.Line, Column: s.Column}
		put(m, "manual", seq(s, rules...))
		*s = *m
	})
	return nil
}

func simplifySync(dest, strip string) (string, string) {
	if strip == "" || strip == "/" || dest == "" {
		return dest, strip
	}
	d := dest
	if !strings.HasSuffix(d, "/") {
		d += "/"
	}
	if strings.HasSuffix(d, strip) {
		out := strings.TrimSuffix(d, strings.TrimPrefix(strip, "/"))
		if out == "" {
			out = "."
		}
		return out, ""
	}
	return dest, strip
}

// v1beta14 merged jibMaven and jibGradle into jib.
func fromV1beta13(u *upgrader) error {
	u.each("build.artifacts.[]", func(a *yaml.Node) {
		if m := take(a, "jibMaven"); m != nil {
			j := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: m.Line, Column: m.Column}
			if _, mod := lookup(m, "module"); mod != nil {
				put(j, "project", clone(mod))
			}
			args := seq(m)
			if _, as := lookup(m, "args"); as != nil {
				args.Content = append(args.Content, as.Content...)
			}
			if _, pr := lookup(m, "profile"); pr != nil && pr.Value != "" {
				args.Content = append(args.Content, scalar("--activate-profiles", pr), clone(pr))
			}
			if len(args.Content) > 0 {
				put(j, "args", args)
			}
			put(j, "type", scalar("maven", m))
			put(a, "jib", j)
		}
		if g := take(a, "jibGradle"); g != nil {
			j := clone(orEmptyMap(g, a))
			put(j, "type", scalar("gradle", g))
			put(a, "jib", j)
		}
	})
	return nil
}

func fromV2alpha1(u *upgrader) error {
	u.each("build.artifacts.[].kaniko", func(k *yaml.Node) {
		bc := take(k, "buildContext")
		if _, ld := lookup(bc, "localDir"); ld != nil {
			if _, ii := lookup(ld, "initImage"); ii != nil {
				put(k, "initImage", clone(ii))
			}
		}
	})
	return nil
}

func fromV2alpha2(u *upgrader) error {
	u.each("deploy.kustomize", func(k *yaml.Node) {
		if p := take(k, "path"); p != nil && p.Value != "" {
			put(k, "paths", seq(p, p))
		}
	})
	u.each("build.artifacts.[].buildpack", func(b *yaml.Node) { take(b, "forcePull") })
	return nil
}

func fromV2beta3(u *upgrader) error {
	u.each("deploy.helm.releases.[]", func(r *yaml.Node) { rename(r, "values", "artifactOverrides") })
	return nil
}

func fromV2beta4(u *upgrader) error {
	u.each("build.cluster", func(c *yaml.Node) { rename(c, "pullSecret", "pullSecretPath") })
	u.each("build.artifacts.[]", func(a *yaml.Node) { rename(a, "buildpack", "buildpacks") })
	return nil
}

func fromV2beta8(u *upgrader) error {
	u.each("build.artifacts.[].sync", func(s *yaml.Node) {
		if _, auto := lookup(s, "auto"); auto != nil && auto.Kind == yaml.MappingNode {
			*auto = *boolNode(true, auto)
		}
	})
	u.each("build.artifacts.[].kaniko", func(k *yaml.Node) {
		if take(k, "flags") != nil {
			u.notes = append(u.notes, "kaniko flags have no equivalent since skaffold/v2beta9; they are dropped")
		}
	})
	return nil
}

func fromV2beta12(u *upgrader) error {
	u.each("deploy.helm.releases.[]", func(r *yaml.Node) {
		remote := take(r, "remote")
		if remote != nil && strings.EqualFold(remote.Value, "true") {
			rename(r, "chartPath", "remoteChart")
		}
	})
	return nil
}

func fromV2beta16(u *upgrader) error {
	u.each("build.artifacts.[]", func(a *yaml.Node) {
		_, image := lookup(a, "image")
		walk(a, []string{"docker", "secret"}, func(s *yaml.Node) {
			if dst := take(s, "dst"); dst != nil {
				name := ""
				if image != nil {
					name = image.Value
				}
				u.notes = append(u.notes, fmt.Sprintf("artifact %q: a Docker secret's destination (%s) is no longer supported; it is dropped", name, dst.Value))
			}
		})
	})
	return nil
}

func fromV2beta22(u *upgrader) error {
	u.each("build.artifacts.[].docker", func(d *yaml.Node) {
		if s := take(d, "secret"); s != nil {
			put(d, "secrets", seq(s, s))
		}
	})
	return nil
}

func fromV2beta27(u *upgrader) error {
	u.each("build.artifacts.[]", func(a *yaml.Node) {
		walk(a, []string{"ko"}, func(ko *yaml.Node) {
			if p := take(ko, "platforms"); p != nil && len(p.Content) > 0 {
				put(a, "platforms", p)
			}
		})
	})
	return nil
}

// v3alpha1 split rendering from deploying: manifests move under
// manifests, kustomize becomes a renderer for the kubectl deployer, and
// helm is both.
func fromV2beta29(u *upgrader) error {
	for _, p := range u.pipelines() {
		d := mappingOrNil(p, "deploy")
		if d == nil {
			continue
		}
		if k, _ := lookup(d, "kpt"); k != nil {
			u.errs = append(u.errs, u.at(k, "deploy.kpt cannot be upgraded past skaffold/v2beta29; rewrite it as manifests.kpt and deploy.kpt by hand"))
			continue
		}
		if k := mappingOrNil(d, "kubectl"); k != nil {
			if ms := take(k, "manifests"); ms != nil {
				put(mapping(p, "manifests"), "rawYaml", ms)
			}
		} else if _, k := lookup(d, "kubectl"); k != nil {
			put(d, "kubectl", orEmptyMap(nil, k))
		}
		if ku := take(d, "kustomize"); ku != nil {
			ku = orEmptyMap(ku, d)
			r := mapping(mapping(p, "manifests"), "kustomize")
			if _, paths := lookup(ku, "paths"); paths != nil && len(paths.Content) > 0 {
				put(r, "paths", paths)
			} else {
				put(r, "paths", seq(ku, scalar(".", ku)))
			}
			if _, args := lookup(ku, "buildArgs"); args != nil {
				put(r, "buildArgs", args)
			}
			if err := mergeKustomizeIntoKubectl(u, d, ku); err != nil {
				u.errs = append(u.errs, err)
			}
		}
		if h := mappingOrNil(d, "helm"); h != nil {
			upgradeHelm(p, d, h)
		}
	}
	u.migratePatchPaths()
	return nil
}

func mergeKustomizeIntoKubectl(u *upgrader, d, ku *yaml.Node) *Error {
	_, kk := lookup(d, "kubectl")
	if kk == nil {
		k := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: ku.Line, Column: ku.Column}
		for _, key := range []string{"flags", "defaultNamespace", "hooks"} {
			if _, v := lookup(ku, key); v != nil {
				put(k, key, v)
			}
		}
		put(d, "kubectl", k)
		return nil
	}
	_, kns := lookup(kk, "defaultNamespace")
	_, uns := lookup(ku, "defaultNamespace")
	if kns != nil && uns != nil && kns.Value != uns.Value {
		return u.at(uns, "deploy.kustomize.defaultNamespace %q differs from deploy.kubectl.defaultNamespace %q, and skaffold/v3alpha1 merges the two; make them equal", uns.Value, kns.Value)
	}
	if uns != nil {
		put(kk, "defaultNamespace", uns)
	}
	_, kf := lookup(kk, "flags")
	_, uf := lookup(ku, "flags")
	_, kdv := lookup(kf, "disableValidation")
	_, udv := lookup(uf, "disableValidation")
	if truthy(kdv) != truthy(udv) {
		return u.at(udv, "deploy.kustomize.flags.disableValidation differs from deploy.kubectl's, and skaffold/v3alpha1 merges the two; make them equal")
	}
	if uf != nil {
		flags := mapping(kk, "flags")
		for _, key := range []string{"global", "apply", "delete"} {
			if _, more := lookup(uf, key); more != nil {
				_, have := lookup(flags, key)
				if have == nil {
					put(flags, key, more)
				} else {
					have.Content = append(have.Content, more.Content...)
				}
			}
		}
	}
	if _, uh := lookup(ku, "hooks"); uh != nil {
		hooks := mapping(kk, "hooks")
		for _, key := range []string{"before", "after"} {
			if _, more := lookup(uh, key); more != nil {
				_, have := lookup(hooks, key)
				if have == nil {
					put(hooks, key, more)
				} else {
					have.Content = append(have.Content, more.Content...)
				}
			}
		}
	}
	return nil
}

func truthy(n *yaml.Node) bool { return n != nil && strings.EqualFold(n.Value, "true") }

var helmSanitize = strings.NewReplacer(".", "_", "-", "_", "/", "_", ":", "_")

// upgradeHelm writes the v2beta29 helm deployer as v3alpha1 does: the
// releases under manifests.helm (to render) and deploy.helm (to deploy),
// with artifactOverrides and imageStrategy turned into setValueTemplates.
func upgradeHelm(p, d, h *yaml.Node) {
	_, releases := lookup(h, "releases")
	if releases != nil {
		for _, r := range releases.Content {
			ao := take(r, "artifactOverrides")
			strategy := take(r, "imageStrategy")
			if ao == nil || ao.Kind != yaml.MappingNode {
				continue
			}
			svt := mapping(r, "setValueTemplates")
			_, helmStrategy := lookup(strategy, "helm")
			explicit := false
			if helmStrategy != nil {
				_, er := lookup(helmStrategy, "explicitRegistry")
				explicit = truthy(er)
			}
			for i := 0; i+1 < len(ao.Content); i += 2 {
				k, v := ao.Content[i].Value, ao.Content[i+1]
				s := helmSanitize.Replace(v.Value)
				switch {
				case helmStrategy != nil && explicit:
					put(svt, k+".tag", scalar("{{.IMAGE_TAG_"+s+"}}@{{.IMAGE_DIGEST_"+s+"}}", v))
					put(svt, k+".registry", scalar("{{.IMAGE_DOMAIN_"+s+"}}", v))
					put(svt, k+".repository", scalar("{{.IMAGE_REPO_NO_DOMAIN_"+s+"}}", v))
				case helmStrategy != nil:
					put(svt, k+".tag", scalar("{{.IMAGE_TAG_"+s+"}}@{{.IMAGE_DIGEST_"+s+"}}", v))
					put(svt, k+".repository", scalar("{{.IMAGE_REPO_"+s+"}}", v))
				default:
					put(svt, k, scalar("{{.IMAGE_FULLY_QUALIFIED_"+s+"}}", v))
				}
			}
		}
	}
	render := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: h.Line, Column: h.Column}
	if releases != nil {
		put(render, "releases", clone(releases))
	}
	if _, flags := lookup(h, "flags"); flags != nil {
		put(render, "flags", clone(flags))
	}
	put(mapping(p, "manifests"), "helm", render)
}

var patchMoves = []struct{ from, to string }{
	{"/deploy/kubectl/manifests", "/manifests/rawYaml"},
	{"/deploy/kustomize/paths", "/manifests/kustomize/paths"},
	{"/deploy/kustomize/buildArgs", "/manifests/kustomize/buildArgs"},
	{"/deploy/helm", "/manifests/helm"},
}

// migratePatchPaths points the profiles' patches at where v3alpha1 moved
// their targets; a patch of helm releases is kept for deploy.helm too.
func (u *upgrader) migratePatchPaths() {
	for _, p := range u.pipelines()[1:] {
		_, patches := lookup(p, "patches")
		if patches == nil || patches.Kind != yaml.SequenceNode {
			continue
		}
		var extra []*yaml.Node
		for _, patch := range patches.Content {
			_, path := lookup(patch, "path")
			if path == nil {
				continue
			}
			old := path.Value
			if strings.Contains(old, "/deploy/helm") && !strings.Contains(old, "/deploy/helm/hooks") {
				extra = append(extra, clone(patch))
			}
			if strings.Contains(old, "/deploy/helm/hooks") {
				continue
			}
			for _, m := range patchMoves {
				if strings.Contains(path.Value, m.from) {
					path.Value = strings.ReplaceAll(path.Value, m.from, m.to)
				}
			}
			path.Value = strings.Replace(path.Value, "/artifactOverrides/", "/setValueTemplates/", 1)
		}
		patches.Content = append(patches.Content, extra...)
	}
}

// v4beta1 moved kubectl's remote manifests under manifests, each with the
// kube context it is read from.
func fromV3(u *upgrader) error {
	for _, p := range u.pipelines() {
		d := mappingOrNil(p, "deploy")
		k := mappingOrNil(d, "kubectl")
		if k == nil {
			continue
		}
		rm := take(k, "remoteManifests")
		if rm == nil || len(rm.Content) == 0 {
			continue
		}
		_, ctx := lookup(d, "kubeContext")
		var items []*yaml.Node
		for _, m := range rm.Content {
			item := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: m.Line, Column: m.Column}
			put(item, "manifest", m)
			if ctx != nil {
				put(item, "kubeContext", clone(ctx))
			}
			items = append(items, item)
		}
		put(mapping(p, "manifests"), "remoteManifests", seq(rm, items...))
	}
	return nil
}

// v4beta4 kept only name, image, command, args and env of a verify
// container.
func fromV4beta3(u *upgrader) error {
	u.each("verify.[].container", func(c *yaml.Node) {
		var kept []*yaml.Node
		for i := 0; i+1 < len(c.Content); i += 2 {
			switch c.Content[i].Value {
			case "name", "image", "command", "args", "env":
				kept = append(kept, c.Content[i], c.Content[i+1])
			default:
				u.notes = append(u.notes, fmt.Sprintf("verify container field %q is dropped (since skaffold/v4beta4)", c.Content[i].Value))
			}
		}
		c.Content = kept
	})
	return nil
}

func fromV4beta4(u *upgrader) error {
	u.each("build.artifacts.[].kaniko", func(k *yaml.Node) { take(k, "noPush") })
	return nil
}

func fromV4beta7(u *upgrader) error {
	u.each("deploy.kpt", func(k *yaml.Node) { rename(k, "false", "force") })
	return nil
}

// Upgrade rewrites the config data (name is its file, for errors) in the
// latest apiVersion, document by document, keeping comments and the order
// of fields; profiles stay as they are, upgraded too. It returns the new
// config, the notes of what the upgrade dropped, and whether any document
// was older than the latest.
func Upgrade(name string, data []byte) (out []byte, notes []string, changed bool, err error) {
	docs, errs := upgraded(name, data)
	if len(errs) > 0 {
		return nil, nil, false, invalid(errs...)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		notes = append(notes, d.notes...)
		changed = changed || d.written != LatestVersion
		if err := enc.Encode(d.root); err != nil {
			return nil, notes, false, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, notes, false, err
	}
	return b.Bytes(), notes, changed, nil
}
