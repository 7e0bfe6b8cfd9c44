package render

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// sanitize turns an image name into the suffix of its template variables,
// as Skaffold does: IMAGE_TAG_gcr_io_proj_app for gcr.io/proj/app.
var sanitize = strings.NewReplacer(".", "_", "-", "_", "/", "_", ":", "_")

// ImageVars are the variables setValueTemplates see for the built images,
// beside the environment, named as Skaffold names them. Each image's
// variables come with its sanitised name as suffix (IMAGE_TAG_gcr_io_app
// for gcr.io/app), and with the build's position: none for the first
// build (IMAGE_TAG), 2 for the second (IMAGE_TAG2) and so on.
//
//   - IMAGE_FULLY_QUALIFIED and DIGEST: the reference, tag@digest when
//     pushed;
//   - IMAGE_REPO (with the registry), IMAGE_REPO_NO_DOMAIN, IMAGE_DOMAIN;
//   - IMAGE_TAG, IMAGE_DIGEST, DIGEST_ALGO and DIGEST_HEX;
//   - IMAGE_NAME: the image name as configured.
func ImageVars(builds []build.Result) map[string]string {
	vars := map[string]string{}
	for i, b := range builds {
		full := b.Tag
		if b.Pushed && b.Digest != "" {
			full = b.Tag + "@" + b.Digest
		}
		repo := build.Repository(b.Tag)
		t := strings.TrimPrefix(strings.TrimPrefix(b.Tag, repo), ":")
		if j := strings.Index(t, "@"); j >= 0 {
			t = t[:j]
		}
		domain, path := "", repo
		if j := strings.Index(repo, "/"); j >= 0 && (strings.ContainsAny(repo[:j], ".:") || repo[:j] == "localhost") {
			domain, path = repo[:j], repo[j+1:]
		}
		digest := ""
		if b.Pushed {
			digest = b.Digest
		}
		algo, hex, _ := strings.Cut(digest, ":")
		image := map[string]string{
			"IMAGE_NAME": b.ImageName, "DIGEST": full, "IMAGE_FULLY_QUALIFIED": full,
			"IMAGE_REPO": repo, "IMAGE_REPO_NO_DOMAIN": path, "IMAGE_DOMAIN": domain,
			"IMAGE_TAG": t, "IMAGE_DIGEST": digest, "DIGEST_ALGO": algo, "DIGEST_HEX": hex,
		}
		position := ""
		if i > 0 {
			position = strconv.Itoa(i + 1)
		}
		for k, v := range image {
			vars[k+position] = v
			vars[k+"_"+sanitize.Replace(b.ImageName)] = v
		}
	}
	return vars
}

// lenient expands text over vars, a missing variable being empty.
func lenient(text string, vars map[string]string) (string, error) {
	t, err := template.New("value").Option("missingkey=zero").Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = t.Execute(&b, vars)
	return strings.ReplaceAll(b.String(), "<no value>", ""), err
}

// ResolveRelease resolves a configured release for hoist-render: its templates
// expanded over env (and, for setValueTemplates, the built images),
// relative paths made absolute against dir, the flags' options applied,
// and namespace the namespace of a release that names none. Without
// builds (to delete), image variables expand to nothing. at names the
// release in errors, such as deploy.helm.releases[0].
func ResolveRelease(r *config.HelmRelease, flags config.HelmFlags, builds []build.Result, env map[string]string, dir, namespace, at string) (HelmRelease, error) {
	var err error
	expand := func(field, s string) string {
		if err != nil || !strings.Contains(s, "{{") {
			return s
		}
		var out string
		if out, err = tag.Template(s, env); err != nil {
			err = fault.Wrap(err, fault.DeployChartInvalid, fmt.Sprintf("%s.%s", at, field),
				"set the environment variable the template names, or fix the template")
		}
		return out
	}
	abs := func(p string) string { return under(dir, p) }
	out := HelmRelease{
		Name:                  expand("name", r.Name),
		Version:               expand("version", r.Version),
		SkipBuildDependencies: r.SkipBuildDependencies,
		SkipTests:             r.SkipTests,
		KeepInstalled:         r.UpgradeOnChange != nil && !*r.UpgradeOnChange || r.UpgradeOnChange == nil && r.RemoteChart != "",
		Wait:                  r.Wait,
		RecreatePods:          r.RecreatePods,
		CreateNamespace:       r.CreateNamespace != nil && *r.CreateNamespace,
	}
	if p := r.Packaged; p != nil {
		out.Packaged = &config.HelmPackaged{Version: expand("packaged.version", p.Version), AppVersion: expand("packaged.appVersion", p.AppVersion)}
	}
	// remoteChart and repo are templated too, unlike Skaffold's, so that
	// a registry's address can come from the environment.
	out.Chart, out.Repo = expand("remoteChart", r.RemoteChart), expand("repo", r.Repo)
	if r.ChartPath != "" {
		out.Chart = abs(expand("chartPath", r.ChartPath))
	}
	if out.Namespace = expand("namespace", r.Namespace); out.Namespace == "" {
		out.Namespace = namespace
	}
	for _, f := range r.ValuesFiles {
		out.ValuesFiles = append(out.ValuesFiles, abs(expand("valuesFiles", f)))
	}
	if r.Overrides.Node != nil {
		if derr := r.Overrides.Node.Decode(&out.Overrides); derr != nil {
			return out, fault.Wrap(derr, fault.DeployChartInvalid, at+".overrides is not a mapping of values")
		}
	}
	for _, kv := range r.SetValues {
		out.Set = append(out.Set, kv.Key+"="+expand("setValues."+kv.Key, kv.Value))
	}
	if err != nil {
		return out, err
	}
	if len(r.SetValueTemplates) > 0 {
		all := ImageVars(builds)
		for k, v := range env {
			if _, ok := all[k]; !ok {
				all[k] = v
			}
		}
		for _, kv := range r.SetValueTemplates {
			v, terr := tag.Template(kv.Value, all)
			if builds == nil {
				// Deleting: the objects' names do not depend on images
				// that were not built.
				v, terr = lenient(kv.Value, all)
			}
			if terr != nil {
				return out, fault.Wrap(terr, fault.DeployChartInvalid, fmt.Sprintf("%s.setValueTemplates.%s", at, kv.Key),
					"each image variable names an artifact built in this run, such as {{.IMAGE_FULLY_QUALIFIED_app}}; other variables come from the environment")
			}
			// A template such as {{.IMAGE_TAG}}@{{.IMAGE_DIGEST}} of an
			// image that was not pushed ends with @ and no digest.
			out.Set = append(out.Set, kv.Key+"="+strings.TrimSuffix(v, "@"))
		}
	}
	keys := make([]string, 0, len(r.SetFiles))
	for k := range r.SetFiles {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.SetFiles = append(out.SetFiles, k+"="+abs(r.SetFiles[k]))
	}
	o, ferr := flags.Options()
	if ferr != nil {
		return out, fault.Wrap(ferr, fault.DeployChartInvalid, at)
	}
	out.Atomic, out.Force = o.Atomic, o.Force
	out.Wait = out.Wait || o.Wait
	out.PlainHTTP, out.InsecureSkipTLSVerify = o.PlainHTTP, o.InsecureSkipTLSVerify
	return out, err
}

// ReleaseInputs are the local files releases read, absolute: every file
// of a local chart, the values files and the set files. hoist dev watches
// them to deploy again.
func ReleaseInputs(releases []*config.HelmRelease, dir string) []string {
	var out []string
	abs := func(p string) string { return under(dir, p) }
	for _, r := range releases {
		if r.ChartPath != "" && !strings.Contains(r.ChartPath, "{{") {
			root := abs(r.ChartPath)
			_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					out = append(out, p)
				}
				return nil
			})
		}
		for _, f := range r.ValuesFiles {
			out = append(out, abs(f))
		}
		for _, f := range r.SetFiles {
			out = append(out, abs(f))
		}
	}
	return out
}

// under is p, a path of the config, absolute: relative to dir when it is
// relative. An empty path stays empty.
func under(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
