package config

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

var gitCommitVariants = []string{"Tags", "CommitSha", "AbbrevCommitSha", "TreeSha", "AbbrevTreeSha"}

// validate returns every problem of c, a converted and defaulted config, in
// the order of its sections, each located with at.
func validate(c *Config, at locator) []*Error {
	var errs []*Error
	seen := map[string]bool{}
	for i, a := range c.Build.Artifacts {
		p := fmt.Sprintf("build.artifacts[%d]", i)
		switch {
		case a.ImageName == "":
			errs = append(errs, at(p+".image", "image must not be empty"))
		case strings.ContainsAny(a.ImageName, "@ ") || strings.HasSuffix(a.ImageName, ":"):
			errs = append(errs, at(p+".image", "image %q is not a valid image name", a.ImageName).
				withHint("give a name without tag or digest, such as my-app or registry.example.com/team/my-app"))
		case seen[a.ImageName]:
			errs = append(errs, at(p+".image", "image %q is configured twice", a.ImageName))
		}
		seen[a.ImageName] = true
		if a.Docker != nil && a.Custom != nil {
			errs = append(errs, at(p, "artifact %q names two builders, docker and custom", a.ImageName).
				withHint("keep one of them"))
		}
		for _, name := range slices.Sorted(maps.Keys(a.otherBuilders())) {
			if a.otherBuilders()[name].Node != nil {
				e := at(p+"."+name, "artifact %q is built with %s, a Skaffold builder that hoist does not have", a.ImageName, name).
					withHint("build it with docker or custom (a custom buildCommand can run the same tool), or choose a profile that does")
				e.Unsupported = true
				errs = append(errs, e)
			}
		}
	}
	for _, remote := range []struct {
		name string
		r    Raw
	}{{"googleCloudBuild", c.Build.GoogleCloudBuild}, {"cluster", c.Build.Cluster}} {
		if name := remote.name; remote.r.Node != nil {
			e := at("build."+name, "build.%s builds remotely, which hoist does not do", name).
				withHint("build locally (build.local), or choose a profile that does")
			e.Unsupported = true
			errs = append(errs, e)
		}
	}
	errs = append(errs, platforms(at, "build.platforms", c.Build.Platforms)...)
	for i, a := range c.Build.Artifacts {
		p := fmt.Sprintf("build.artifacts[%d]", i)
		errs = append(errs, platforms(at, p+".platforms", a.Platforms)...)
		if s := a.Sync; s != nil {
			set := count(len(s.Manual) > 0, len(s.Infer) > 0, s.Auto != nil)
			if set > 1 {
				errs = append(errs, at(p+".sync", "sync sets %d of manual, infer and auto", set).withHint("choose one of them"))
			}
			for j, r := range s.Manual {
				rp := fmt.Sprintf("%s.sync.manual[%d]", p, j)
				if r.Src == "" || r.Dest == "" {
					errs = append(errs, at(rp, "a sync rule needs src and dest"))
					continue
				}
				if _, err := path.Match(r.Src, ""); err != nil {
					errs = append(errs, at(rp+".src", "src %q is not a valid pattern", r.Src).withHint("escape [ and ] with \\, and close every bracket"))
				}
			}
			for j, g := range s.Infer {
				if _, err := path.Match(g, ""); err != nil {
					errs = append(errs, at(fmt.Sprintf("%s.sync.infer[%d]", p, j), "%q is not a valid pattern", g).withHint("escape [ and ] with \\, and close every bracket"))
				}
			}
		}
	}
	for i, a := range c.Build.Artifacts {
		if a.Custom == nil || a.Custom.Dependencies == nil {
			continue
		}
		d := a.Custom.Dependencies
		set := count(d.Dockerfile != nil, d.Command != "", len(d.Paths) > 0)
		p := fmt.Sprintf("build.artifacts[%d].custom.dependencies", i)
		if set > 1 {
			errs = append(errs, at(p, "dependencies sets %d of dockerfile, command and paths", set).withHint("choose one of them"))
		}
		if len(d.Ignore) > 0 && len(d.Paths) == 0 {
			errs = append(errs, at(p+".ignore", "ignore applies to paths, and there are none"))
		}
	}
	for _, side := range []struct {
		name    string
		filters []*ResourceFilter
	}{{"allow", c.ResourceSelector.Allow}, {"deny", c.ResourceSelector.Deny}} {
		for i, f := range side.filters {
			for j, pattern := range f.Image {
				if _, err := regexp.Compile(pattern); err != nil {
					errs = append(errs, at(fmt.Sprintf("resourceSelector.%s[%d].image[%d]", side.name, i, j), "%q is not a regular expression: %v", pattern, err))
				}
			}
		}
	}
	for i, a := range c.Build.Artifacts {
		d := a.Docker
		if d == nil || c.Build.Local.UseDockerCLI {
			continue
		}
		p := fmt.Sprintf("build.artifacts[%d].docker", i)
		for _, f := range []struct {
			name string
			set  bool
		}{{"cliFlags", len(d.CliFlags) > 0}, {"secrets", len(d.Secrets) > 0}, {"ssh", d.SSH != ""}, {"noCacheFilter", len(d.NoCacheFilter) > 0}} {
			if f.set {
				errs = append(errs, at(p+"."+f.name, "docker.%s needs the docker command: set build.local.useDockerCLI: true", f.name).
					withHint("hoist builds through the Engine API otherwise, which has no such option"))
			}
		}
	}
	buildHooks := func(path string, h *BuildHooks) {
		if h == nil {
			return
		}
		for i := range h.Before {
			errs = append(errs, hostHook(at, fmt.Sprintf("%s.before[%d]", path, i), &h.Before[i])...)
		}
		for i := range h.After {
			errs = append(errs, hostHook(at, fmt.Sprintf("%s.after[%d]", path, i), &h.After[i])...)
		}
	}
	buildHooks("build.hooks", c.Build.Hooks)
	for i, a := range c.Build.Artifacts {
		buildHooks(fmt.Sprintf("build.artifacts[%d].hooks", i), a.Hooks)
	}
	deployHooks := func(path string, h *DeployHooks) {
		if h == nil {
			return
		}
		for _, side := range []struct {
			name  string
			hooks []DeployHook
		}{{"before", h.Before}, {"after", h.After}} {
			for i, dh := range side.hooks {
				p := fmt.Sprintf("%s.%s[%d]", path, side.name, i)
				if dh.Host != nil {
					errs = append(errs, hostHook(at, p+".host", dh.Host)...)
				}
				if ch := dh.Container; ch != nil && (len(ch.Command) == 0 || ch.Command[0] == "") {
					errs = append(errs, at(p+".container.command", "a hook needs a command").
						withHint("give the program and its arguments as a list, such as command: [sh, -c, 'echo hello']"))
				}
			}
		}
	}
	if k := c.Deploy.Kubectl; k != nil {
		deployHooks("deploy.kubectl.hooks", k.Hooks)
	}
	if h := c.Deploy.Helm; h != nil {
		deployHooks("deploy.helm.hooks", h.Hooks)
	}
	for _, h := range c.RenderHooks {
		for i, rh := range h.Before {
			errs = append(errs, renderHook(at, fmt.Sprintf("manifests.hooks.before[%d]", i), rh.Host)...)
		}
		for i, rh := range h.After {
			var host *HostHook
			if rh.Host != nil {
				host = &rh.Host.HostHook
			}
			errs = append(errs, renderHook(at, fmt.Sprintf("manifests.hooks.after[%d]", i), host)...)
		}
	}
	if k := c.Deploy.Kubectl; k != nil {
		if _, err := k.Flags.Options(); err != nil {
			errs = append(errs, at("deploy.kubectl.flags", "%v", err).withHint("remove the flag, or use Skaffold, which runs kubectl"))
		}
	}
	// An upgraded v2 config has its releases both under deploy.helm and
	// under manifests.helm, at the same lines: each problem is told once.
	seenHelm := map[string]bool{}
	var helmErrs []*Error
	if h := c.Deploy.Helm; h != nil {
		helmErrs = validateHelm(&Helm{Releases: h.Releases}, h.Flags, "deploy.helm", at)
	}
	if h := c.HelmManifests; h != nil {
		helmErrs = append(helmErrs, validateHelm(h, h.Flags, "manifests.helm", at)...)
	}
	for _, e := range helmErrs {
		if key := fmt.Sprintf("%d:%d:%s", e.Line, e.Column, e.Message); !seenHelm[key] {
			seenHelm[key] = true
			errs = append(errs, e)
		}
	}
	errs = append(errs, validateDocker(c, at)...)
	errs = append(errs, validateLogs(c, at)...)
	for i, tc := range c.Test {
		for j, ct := range tc.Custom {
			p := fmt.Sprintf("test[%d].custom[%d]", i, j)
			if strings.TrimSpace(ct.Command) == "" {
				errs = append(errs, at(p+".command", "a custom test needs a command"))
			}
			if ct.TimeoutSeconds < 0 {
				errs = append(errs, at(p+".timeoutSeconds", "timeoutSeconds must be 0 (none) or more"))
			}
			if d := ct.Dependencies; d != nil {
				if d.Command != "" && len(d.Paths) > 0 {
					errs = append(errs, at(p+".dependencies", "dependencies can use either command or paths, not both"))
				}
				if len(d.Ignore) > 0 && len(d.Paths) == 0 {
					errs = append(errs, at(p+".dependencies.ignore", "ignore applies to paths, and there are none"))
				}
			}
		}
	}
	for i, pf := range c.PortForward {
		p := fmt.Sprintf("portForward[%d]", i)
		if e := oneOf(at, p+".resourceType", strings.ToLower(pf.Type), portForwardTypes...); e != nil {
			errs = append(errs, e)
		}
		if pf.Port == (IntOrString{}) {
			errs = append(errs, at(p, "portForward needs the port to forward"))
		}
		if pf.LocalPort < 0 || pf.LocalPort > 65535 {
			errs = append(errs, at(p+".localPort", "localPort %d is not a port", pf.LocalPort))
		}
	}
	tp := c.Build.TagPolicy
	set := count(tp.GitCommit != nil, tp.Sha256 != nil, tp.DateTime != nil, tp.EnvTemplate != nil, tp.InputDigest != nil, tp.CustomTemplate != nil)
	if set > 1 {
		errs = append(errs, at("build.tagPolicy", "tagPolicy sets %d policies", set).
			withHint("choose one of gitCommit, sha256, dateTime, envTemplate, inputDigest, customTemplate"))
	}
	if ct := tp.CustomTemplate; ct != nil {
		for i, c := range ct.Components {
			p := fmt.Sprintf("build.tagPolicy.customTemplate.components[%d]", i)
			if c.CustomTemplate != nil {
				errs = append(errs, at(p+".customTemplate", "a customTemplate component cannot be a customTemplate"))
			}
			if c.TagPolicy == (TagPolicy{}) {
				errs = append(errs, at(p, "component %q names no tag policy", c.Name).
					withHint("give it one of gitCommit, sha256, dateTime, envTemplate, inputDigest"))
			}
		}
	}
	if g := tp.GitCommit; g != nil && !slices.Contains(gitCommitVariants, g.Variant) {
		errs = append(errs, at("build.tagPolicy.gitCommit.variant", "unknown gitCommit variant %q", g.Variant).
			withHint("use Tags, CommitSha, AbbrevCommitSha, TreeSha or AbbrevTreeSha"))
	}
	if n := c.Build.Local.Concurrency; n != nil && *n < 0 {
		errs = append(errs, at("build.local.concurrency", "concurrency must be 0 (all at once) or more, got %d", *n))
	}
	if c.Deploy.StatusCheckDeadlineSeconds < 0 {
		errs = append(errs, at("deploy.statusCheckDeadlineSeconds", "the deadline must be positive"))
	}
	if e := oneOf(at, "event.log.level", c.Event.Log.Level, "debug", "info", "warn", "error"); e != nil {
		errs = append(errs, e)
	}
	if e := oneOf(at, "event.log.format", c.Event.Log.Format, "json", "text", "auto"); e != nil {
		errs = append(errs, e)
	}
	return errs
}

var portForwardTypes = []string{"pod", "deployment", "service", "replicaset", "statefulset", "daemonset", "job", "cronjob", ContainerPortType}

// hostPlatform is the only platform hoist builds for.
var hostPlatform = runtime.GOOS + "/" + runtime.GOARCH

// platforms refuses target platforms other than the host's.
func platforms(at locator, path string, ps []string) []*Error {
	var errs []*Error
	for i, p := range ps {
		if p != hostPlatform && strings.TrimSuffix(p, "/v1") != hostPlatform {
			e := at(fmt.Sprintf("%s[%d]", path, i), "platform %s: hoist builds for this machine's platform only, %s", p, hostPlatform).
				withHint("remove the platform, or build it with Skaffold or docker buildx")
			e.Unsupported = true
			errs = append(errs, e)
		}
	}
	return errs
}

// structureTests refuses container-structure-test files in a command that
// would run them: hoist does not run them yet. Other commands, such as
// diagnose, load the config.
func structureTests(c *Config, command string, at locator) []*Error {
	if command != "run" && command != "dev" && command != "test" {
		return nil
	}
	var errs []*Error
	for i, tc := range c.Test {
		if len(tc.StructureTests) > 0 {
			e := at(fmt.Sprintf("test[%d].structureTests", i), "structure tests of %q: hoist does not run container-structure-test files yet", tc.Image).
				withHint("run them with container-structure-test in a custom test, or use Skaffold for them")
			e.Unsupported = true
			errs = append(errs, e)
		}
	}
	return errs
}

// renderHook checks the render hook at path, whose host hook is h: Skaffold
// runs render hooks on the host only.
func renderHook(at locator, path string, h *HostHook) []*Error {
	if h == nil {
		return []*Error{at(path, "a render hook needs host, the command to run on the host").
			withHint("write it as - host: {command: [sh, -c, 'echo rendering']}")}
	}
	return hostHook(at, path+".host", h)
}

// hostHook checks the host hook at path: it needs a command.
func hostHook(at locator, path string, h *HostHook) []*Error {
	if len(h.Command) == 0 || h.Command[0] == "" {
		return []*Error{at(path+".command", "a hook needs a command").
			withHint("give the program and its arguments as a list, such as command: [sh, -c, 'echo hello']")}
	}
	return nil
}

// count is how many of set are true: how many of a choice a config makes.
func count(set ...bool) int {
	n := 0
	for _, on := range set {
		if on {
			n++
		}
	}
	return n
}

// oneOf returns an error at path when v is not one of allowed, suggesting
// the nearest when one is near enough.
func oneOf(at locator, path, v string, allowed ...string) *Error {
	if slices.Contains(allowed, v) {
		return nil
	}
	e := at(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
	if m := closest(v, allowed); m != "" {
		e.Hint = fmt.Sprintf("did you mean %q?", m)
	}
	return e
}
