package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-dev/hoist/internal/fault"
)

var (
	apiVersionRE = regexp.MustCompile(`^skaffold(\.dev)?/v(2beta\d+|3alpha\d+|3|4beta\d+)$`)
	v2RE         = regexp.MustCompile(`^skaffold(\.dev)?/v2beta\d+$`)
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Load reads, decodes and validates the config file at path. Every problem
// is a *fault.Error with code CONFIG_INVALID, CONFIG_UNSUPPORTED or
// CONFIG_NOT_FOUND wrapping a *config.Error that carries the position.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fault.Wrap(err, fault.ConfigNotFound, "resolving config path")
	}
	data, err := os.ReadFile(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fault.New(fault.ConfigNotFound,
			fmt.Sprintf("config file %s not found", path),
			"run hoist in the folder that holds skaffold.yaml, or pass -f path/to/skaffold.yaml")
	}
	if err != nil {
		return nil, fault.Wrap(err, fault.ConfigNotFound, "reading config")
	}
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	cfg.File = abs
	cfg.Dir = filepath.Dir(abs)
	cfg.resolvePaths()
	return cfg, nil
}

// Parse decodes config data; name is used in error positions. Relative paths
// are left as written (Load resolves them).
func Parse(name string, data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*Config
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid(syntaxError(name, data, err))
		}
		if len(root.Content) == 0 {
			continue
		}
		cfg, err := parseDoc(name, root.Content[0])
		if err != nil {
			return nil, err
		}
		docs = append(docs, cfg)
	}
	if len(docs) == 0 {
		return nil, invalid(&Error{File: name, Line: 1, Column: 1,
			Message: "the file holds no config", Hint: "start it with apiVersion: skaffold/v4beta14 and kind: Config"})
	}
	return merge(name, docs)
}

func parseDoc(name string, n *yaml.Node) (*Config, error) {
	d := &decoder{file: name, pos: map[string]*yaml.Node{}}
	cfg := &Config{}
	if err := d.decode(n, reflect.ValueOf(cfg).Elem(), ""); err != nil {
		return nil, invalid(err)
	}
	if err := cfg.validate(d); err != nil {
		return nil, invalid(err)
	}
	return cfg, nil
}

func (c *Config) validate(d *decoder) error {
	at := func(path, format string, args ...any) *Error {
		n := d.pos[path]
		for n == nil && path != "" {
			path = path[:max(strings.LastIndexAny(path, ".["), 0)]
			n = d.pos[path]
		}
		if n == nil {
			return &Error{File: d.file, Line: 1, Column: 1, Message: fmt.Sprintf(format, args...)}
		}
		return d.errAt(n, path, format, args...)
	}
	if !apiVersionRE.MatchString(c.APIVersion) {
		e := at("apiVersion", "unsupported apiVersion %q", c.APIVersion)
		e.Hint = "use skaffold/v2beta1 through skaffold/v4beta14, for example skaffold/v4beta14"
		return e
	}
	if c.Kind != "Config" {
		e := at("kind", "unsupported kind %q", c.Kind)
		e.Hint = `use kind: Config`
		return e
	}
	v2 := v2RE.MatchString(c.APIVersion)
	if v2 && len(c.Manifests.RawYAML) > 0 {
		e := at("manifests", "manifests.rawYaml needs apiVersion skaffold/v3 or later")
		e.Hint = "with " + c.APIVersion + ", list manifests under deploy.kubectl.manifests"
		return e
	}
	if !v2 && c.Deploy.Kubectl != nil && len(c.Deploy.Kubectl.Manifests) > 0 {
		e := at("deploy.kubectl.manifests", "deploy.kubectl.manifests is the v2beta layout")
		e.Hint = "with " + c.APIVersion + ", list manifests under manifests.rawYaml"
		return e
	}
	if !v2 && len(c.Manifests.RawYAML) > 0 {
		if c.Deploy.Kubectl == nil {
			c.Deploy.Kubectl = &KubectlDeploy{}
		}
		c.Deploy.Kubectl.Manifests = c.Manifests.RawYAML
	}
	seen := map[string]bool{}
	for i, a := range c.Build.Artifacts {
		p := fmt.Sprintf("build.artifacts[%d]", i)
		if a.ImageName == "" {
			return at(p+".image", "image must not be empty")
		}
		if strings.ContainsAny(a.ImageName, "@ ") || strings.HasSuffix(a.ImageName, ":") {
			e := at(p+".image", "image %q is not a valid image name", a.ImageName)
			e.Hint = "give a name without tag or digest, such as my-app or registry.example.com/team/my-app"
			return e
		}
		if seen[a.ImageName] {
			return at(p+".image", "image %q is configured twice", a.ImageName)
		}
		seen[a.ImageName] = true
		if a.Docker != nil && a.Custom != nil {
			e := at(p, "artifact %q names two builders, docker and custom", a.ImageName)
			e.Hint = "keep one of them"
			return e
		}
		if a.Docker == nil && a.Custom == nil {
			a.Docker = &DockerArtifact{}
		}
		if a.Docker != nil && a.Docker.Dockerfile == "" {
			a.Docker.Dockerfile = "Dockerfile"
		}
		if a.Context == "" {
			a.Context = "."
		}
	}
	set := 0
	tp := c.Build.TagPolicy
	for _, p := range []bool{tp.GitCommit != nil, tp.Sha256 != nil, tp.DateTime != nil, tp.EnvTemplate != nil, tp.InputDigest != nil} {
		if p {
			set++
		}
	}
	if set > 1 {
		e := at("build.tagPolicy", "tagPolicy sets %d policies", set)
		e.Hint = "choose one of gitCommit, sha256, dateTime, envTemplate, inputDigest"
		return e
	}
	if set == 0 {
		c.Build.TagPolicy.GitCommit = &GitCommitTagger{}
	}
	if g := c.Build.TagPolicy.GitCommit; g != nil {
		switch g.Variant {
		case "":
			g.Variant = "Tags"
		case "Tags", "CommitSha", "AbbrevCommitSha", "TreeSha", "AbbrevTreeSha":
		default:
			e := at("build.tagPolicy.gitCommit.variant", "unknown gitCommit variant %q", g.Variant)
			e.Hint = "use Tags, CommitSha, AbbrevCommitSha, TreeSha or AbbrevTreeSha"
			return e
		}
	}
	if n := c.Build.Local.Concurrency; n != nil && *n < 0 {
		return at("build.local.concurrency", "concurrency must be 0 (all at once) or more, got %d", *n)
	}
	if c.Deploy.StatusCheckDeadlineSeconds < 0 {
		return at("deploy.statusCheckDeadlineSeconds", "the deadline must be positive")
	}
	if c.Deploy.StatusCheckDeadlineSeconds == 0 {
		c.Deploy.StatusCheckDeadlineSeconds = DefaultStatusCheckDeadlineSeconds
	}
	if err := checkEnum(at, "event.log.level", &c.Event.Log.Level, DefaultLogLevel, "debug", "info", "warn", "error"); err != nil {
		return err
	}
	return checkEnum(at, "event.log.format", &c.Event.Log.Format, DefaultLogFormat, "json", "text")
}

func checkEnum(at func(string, string, ...any) *Error, path string, v *string, def string, allowed ...string) error {
	if *v == "" {
		*v = def
		return nil
	}
	for _, a := range allowed {
		if *v == a {
			return nil
		}
	}
	e := at(path, "%q is not one of %s", *v, strings.Join(allowed, ", "))
	if m := closest(*v, allowed); m != "" {
		e.Hint = fmt.Sprintf("did you mean %q?", m)
	}
	return e
}

// merge reads several configs of one file as one: artifacts and manifests
// add up; the other settings come from the first document that sets them.
func merge(name string, docs []*Config) (*Config, error) {
	out := docs[0]
	seen := map[string]bool{}
	for _, a := range out.Build.Artifacts {
		seen[a.ImageName] = true
	}
	for i, d := range docs[1:] {
		for _, a := range d.Build.Artifacts {
			if seen[a.ImageName] {
				return nil, invalid(&Error{File: name, Line: 1, Column: 1,
					Message: fmt.Sprintf("image %q is configured in more than one document (document %d)", a.ImageName, i+2)})
			}
			seen[a.ImageName] = true
			out.Build.Artifacts = append(out.Build.Artifacts, a)
		}
		if d.Deploy.Kubectl != nil {
			if out.Deploy.Kubectl == nil {
				out.Deploy.Kubectl = d.Deploy.Kubectl
			} else {
				out.Deploy.Kubectl.Manifests = append(out.Deploy.Kubectl.Manifests, d.Deploy.Kubectl.Manifests...)
			}
		}
		if out.Event.RPC.Address == "" {
			out.Event.RPC = d.Event.RPC
		}
		if out.Event.Log.File == "" {
			out.Event.Log.File = d.Event.Log.File
		}
	}
	return out, nil
}

func (c *Config) resolvePaths() {
	for _, a := range c.Build.Artifacts {
		if !filepath.IsAbs(a.Context) {
			a.Context = filepath.Join(c.Dir, a.Context)
		}
	}
	if f := c.Event.Log.File; f != "" && !filepath.IsAbs(f) {
		c.Event.Log.File = filepath.Join(c.Dir, f)
	}
}

func invalid(err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		code := fault.ConfigInvalid
		if ce.Unsupported {
			code = fault.ConfigUnsupport
		}
		var hints []string
		if ce.Hint != "" {
			hints = []string{ce.Hint}
		}
		return &fault.Error{Code: code, Message: ce.located(), Suggestions: hints}
	}
	return fault.Wrap(err, fault.ConfigInvalid, "invalid config")
}

// syntaxError turns a YAML parser error into a positioned Error. The parser
// reports only a line; the column is that line's first non-blank character.
func syntaxError(name string, data []byte, err error) error {
	msg := err.Error()
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	col := 1
	text := ""
	if lines := strings.Split(string(data), "\n"); line-1 < len(lines) {
		text = lines[line-1]
		col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
	}
	e := &Error{File: name, Line: line, Column: col, Message: "YAML syntax error: " + msg}
	if strings.Contains(msg, "tab") || strings.Contains(text, "\t") {
		e.Hint = "indent with spaces, not tabs"
	} else {
		e.Hint = "check the indentation of this line and the one above it"
	}
	return e
}
