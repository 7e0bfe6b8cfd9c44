// Package config reads skaffold.yaml, and the configs it requires, into
// one validated Config, as Skaffold reads them. Each YAML document is
// upgraded from its apiVersion (skaffold/v1alpha1 to skaffold/v4beta14, or
// the seed's skaffold.dev/... spelling) to the latest, decoded strictly (an
// unknown field, a wrong type or a missing required field stops it), has
// its active profiles laid over it and applied as patches, and is decoded
// again, converted into the internal Config, given its defaults and
// validated. Every problem found is reported at once, each with the file,
// line and column it is at.
package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is the validated, merged configuration of one skaffold.yaml, the
// same whatever apiVersion it was written in.
type Config struct {
	// File is the absolute path of the config file; Parse leaves it empty.
	File string
	// Dir is the folder of File: relative paths in the config are relative to it.
	Dir string
	// APIVersion is the apiVersion the config was written in.
	APIVersion string
	// Profiles are the names of the profiles applied, in order.
	Profiles []string
	// Notes say what upgrading the config from its apiVersion dropped.
	Notes []string
	// Files are the config files read (Load only).
	Files []string
	// Modules are the configs merged into this one, required ones first.
	Modules []Module

	// requires, at and deps are the config's dependencies as written, its
	// locator, and the configs its requires read.
	requires []ConfigDependency
	at       locator
	deps     []*Config

	Metadata Metadata
	Build    Build
	Deploy   Deploy
	// HelmManifests is manifests.helm: the releases hoist render renders,
	// and the kubectl deployer applies unless deploy.helm is set.
	HelmManifests *Helm
	// Test are the tests of the built images, run before the deploy.
	Test []*TestCase
	// PortForward are the ports hoist dev forwards.
	PortForward []*PortForward
	// RenderHooks are the manifests.hooks of each config that has them,
	// in the order of the configs: they run wherever hoist renders
	// manifests, in hoist render and in the kubectl deployer's deploy.
	RenderHooks []*RenderHooks
	// ResourceSelector chooses the objects whose image fields name
	// artifacts, beyond the pod specs of the built-in workloads.
	ResourceSelector ResourceSelector
	// Verify and CustomActions are kept as written, for diagnose.
	Verify, CustomActions []Raw
	Event                 Event
}

// Module is one config of a run, as read.
type Module struct {
	// Name is its metadata.name, if any.
	Name string
	File string
	// APIVersion is the apiVersion it was written in.
	APIVersion string
	// Profiles are those applied to it.
	Profiles []string
}

// Metadata names a config.
type Metadata struct {
	Name   string            `yaml:"name,omitempty"`
	Labels map[string]string `yaml:"labels,omitempty"`
}

// Build says what to build and how.
type Build struct {
	Artifacts []*Artifact `yaml:"artifacts,omitempty"`
	TagPolicy TagPolicy   `yaml:"tagPolicy,omitempty" overlay:"replace"`
	Local     Local       `yaml:"local,omitempty" overlay:"group=buildType"`
	// GoogleCloudBuild and Cluster are Skaffold's remote builds, which
	// hoist does not have: read, and refused when the pipeline uses them.
	// InsecureRegistries are registries (host[:port]) hoist reaches over
	// plain HTTP when it reads digests and copies cached images. Pushes by
	// the Docker engine follow the engine's own insecure-registries.
	InsecureRegistries []string `yaml:"insecureRegistries,omitempty"`
	// Platforms every artifact is built for, unless it names its own.
	Platforms []string `yaml:"platforms,omitempty"`
	// Hooks run once around the whole build.
	Hooks            *BuildHooks `yaml:"hooks,omitempty"`
	GoogleCloudBuild Raw         `yaml:"googleCloudBuild,omitempty" overlay:"group=buildType"`
	Cluster          Raw         `yaml:"cluster,omitempty" overlay:"group=buildType"`
}

// Artifact is one image to build.
type Artifact struct {
	// ImageName is the image name without registry prefix or tag;
	// --default-repo prefixes it.
	ImageName string `yaml:"image,omitempty" hoist:"required"`
	// Context is the build context. After Load it is absolute.
	Context string          `yaml:"context,omitempty"`
	Docker  *DockerArtifact `yaml:"docker,omitempty"`
	Custom  *CustomArtifact `yaml:"custom,omitempty"`
	// Hooks run on the host before and after the artifact's build.
	Hooks *BuildHooks `yaml:"hooks,omitempty"`
	// Requires are artifacts built before this one, whose images it gets:
	// a Docker build as the build argument alias (when its Dockerfile
	// declares ARG alias), a custom build as the environment variable.
	Requires []*ArtifactDependency `yaml:"requires,omitempty"`
	// DependencyRefs are the built references of Requires by alias, set
	// for a build by the build phase; never read from the file.
	DependencyRefs map[string]string `yaml:"-"`
	// Sync copies changed files into running containers instead of
	// rebuilding (hoist dev).
	Sync *Sync `yaml:"sync,omitempty"`
	// Platforms the image is built for, such as linux/amd64; hoist builds
	// for the host's platform only.
	Platforms []string `yaml:"platforms,omitempty"`
	// RuntimeType is the language of the image's program, for Skaffold's
	// debug; hoist keeps it.
	RuntimeType string `yaml:"runtimeType,omitempty"`
	// Builders of Skaffold's that hoist does not have: read, and refused
	// when the pipeline builds with them.
	Jib        Raw `yaml:"jib,omitempty"`
	Bazel      Raw `yaml:"bazel,omitempty"`
	Buildpacks Raw `yaml:"buildpacks,omitempty"`
	Kaniko     Raw `yaml:"kaniko,omitempty"`
	Ko         Raw `yaml:"ko,omitempty"`
}

func (a *Artifact) usesOtherBuilder() bool {
	for _, r := range a.otherBuilders() {
		if r.Node != nil {
			return true
		}
	}
	return false
}

// BuildHooks run before a build, and after it succeeds.
type BuildHooks struct {
	Before []HostHook `yaml:"before,omitempty"`
	After  []HostHook `yaml:"after,omitempty"`
}

// HostHook is a command run on the host, without a shell.
type HostHook struct {
	Command []string `yaml:"command,omitempty" hoist:"required"`
	// OS are the operating systems it runs on (runtime.GOOS names); empty
	// is all.
	OS []string `yaml:"os,omitempty"`
	// Dir is the folder it runs in, relative to the config's folder.
	Dir string `yaml:"dir,omitempty"`
}

// Kustomization is a folder kustomize builds, with its flags.
type Kustomization struct {
	Path      string
	BuildArgs []string
}

// KubectlFlags are kubectl flags for every command, for apply and for
// delete.
type KubectlFlags struct {
	Global            []string `yaml:"global,omitempty"`
	Apply             []string `yaml:"apply,omitempty"`
	Delete            []string `yaml:"delete,omitempty"`
	DisableValidation bool     `yaml:"disableValidation,omitempty"`
}

// KubectlOptions are what hoist does of kubectl flags: the field manager
// of apply, and the propagation and grace period of delete.
type KubectlOptions struct {
	FieldManager      string
	Propagation       string
	GracePeriod       *int64
	DisableValidation bool
}

// kubectlFlagHelp lists the flags hoist understands.
const kubectlFlagHelp = "hoist applies through the Kubernetes API (server-side apply, forcing conflicts) and understands " +
	"apply: --server-side, --force-conflicts, --field-manager=NAME; delete: --cascade=background|foreground|orphan, --grace-period=N, --wait; " +
	"global: none"

// Options turns the flags into what hoist does, or says which flag it
// cannot follow.
func (f *KubectlFlags) Options() (KubectlOptions, error) {
	var o KubectlOptions
	if f == nil {
		return o, nil
	}
	o.DisableValidation = f.DisableValidation
	for _, flag := range f.Global {
		return o, fmt.Errorf("global flag %q: %s", flag, kubectlFlagHelp)
	}
	for _, flag := range f.Apply {
		name, value, _ := strings.Cut(flag, "=")
		switch name {
		case "--server-side", "--force-conflicts":
			if value != "" && value != "true" {
				return o, fmt.Errorf("apply flag %q: %s", flag, kubectlFlagHelp)
			}
		case "--field-manager":
			o.FieldManager = value
		default:
			return o, fmt.Errorf("apply flag %q: %s", flag, kubectlFlagHelp)
		}
	}
	for _, flag := range f.Delete {
		name, value, _ := strings.Cut(flag, "=")
		switch name {
		case "--cascade":
			switch value {
			case "background", "true", "":
				o.Propagation = "Background"
			case "foreground":
				o.Propagation = "Foreground"
			case "orphan", "false":
				o.Propagation = "Orphan"
			default:
				return o, fmt.Errorf("delete flag %q: %s", flag, kubectlFlagHelp)
			}
		case "--grace-period":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return o, fmt.Errorf("delete flag %q: the grace period is a number of seconds", flag)
			}
			o.GracePeriod = &n
		case "--wait":
		default:
			return o, fmt.Errorf("delete flag %q: %s", flag, kubectlFlagHelp)
		}
	}
	return o, nil
}

// DeployHooks run around a deployer's deploy: before it, and after it
// and its status check succeed.
type DeployHooks struct {
	Before []DeployHook `yaml:"before,omitempty"`
	After  []DeployHook `yaml:"after,omitempty"`
}

// DeployHook runs on the host or, in a deployed container, through exec.
type DeployHook struct {
	Host      *HostHook      `yaml:"host,omitempty"`
	Container *ContainerHook `yaml:"container,omitempty"`
}

// ContainerHook runs Command in the deployed pods whose names match
// PodName (a glob), in ContainerName (a glob; empty is every container).
type ContainerHook struct {
	Command       []string `yaml:"command,omitempty" hoist:"required"`
	PodName       string   `yaml:"podName,omitempty" hoist:"required"`
	ContainerName string   `yaml:"containerName,omitempty"`
}

// RenderHooks are the manifests.hooks of one config: host commands run
// before its manifests render (Before) and on the rendered manifests
// (After), as Skaffold runs them around its render step.
type RenderHooks struct {
	Before []RenderHook     `yaml:"before,omitempty"`
	After  []PostRenderHook `yaml:"after,omitempty"`

	// Manifests, Kustomizations and Releases are the config's own
	// manifests: its rawYaml globs and kustomize paths (absolute after
	// Load) and its Helm releases. The after hooks are given their objects
	// only, as Skaffold gives each config's hooks its own manifests. Set
	// when the config is read, never read from the file.
	Manifests      []string       `yaml:"-"`
	Kustomizations []string       `yaml:"-"`
	Releases       []*HelmRelease `yaml:"-"`
}

// RenderHook runs on the host before the manifests render.
type RenderHook struct {
	Host *HostHook `yaml:"host,omitempty"`
}

// PostRenderHook runs on the host on the rendered manifests.
type PostRenderHook struct {
	Host *PostRenderHostHook `yaml:"host,omitempty"`
}

// PostRenderHostHook is a host hook given the rendered manifests, a stream
// of YAML documents, on its standard input. With WithChange its standard
// output replaces them (printing nothing is an error); otherwise its
// output is only shown.
type PostRenderHostHook struct {
	HostHook   `yaml:",inline"`
	WithChange bool `yaml:"withChange,omitempty"`
}

// TestCase are the tests of one artifact's image.
type TestCase struct {
	Image string `yaml:"image,omitempty" hoist:"required"`
	// Context is the folder the tests run in, relative to the config's.
	Context string        `yaml:"context,omitempty"`
	Custom  []*CustomTest `yaml:"custom,omitempty"`
	// StructureTests are container-structure-test files, which hoist does
	// not run yet.
	StructureTests     []string `yaml:"structureTests,omitempty"`
	StructureTestsArgs []string `yaml:"structureTestsArgs,omitempty"`
}

// CustomTest is a command (run with sh -c, $IMAGE set to the built image)
// that fails the run when it fails.
type CustomTest struct {
	Command        string                  `yaml:"command,omitempty" hoist:"required"`
	TimeoutSeconds int                     `yaml:"timeoutSeconds,omitempty"`
	Dependencies   *CustomTestDependencies `yaml:"dependencies,omitempty"`
}

// CustomTestDependencies are the files a test reads, for hoist dev: given
// as Paths (globs, less Ignore) or as a Command that prints them as a JSON
// list.
type CustomTestDependencies struct {
	Command string   `yaml:"command,omitempty"`
	Paths   []string `yaml:"paths,omitempty"`
	Ignore  []string `yaml:"ignore,omitempty"`
}

// ArtifactDependency names an artifact this one requires, and the name
// (Alias, the image by default) its image is passed as.
type ArtifactDependency struct {
	Image string `yaml:"image,omitempty" hoist:"required"`
	Alias string `yaml:"alias,omitempty"`
}

// Sync says which changed files are copied into the running containers.
// At most one of Manual, Infer and Auto is set.
type Sync struct {
	Manual []*SyncRule `yaml:"manual,omitempty"`
	// Infer are globs of files whose destination is read from the
	// Dockerfile's COPY and ADD instructions.
	Infer []string `yaml:"infer,omitempty"`
	// Auto leaves the rules to the builder.
	Auto  *bool `yaml:"auto,omitempty"`
	Hooks Raw   `yaml:"hooks,omitempty"`
}

// SyncRule copies the files matching Src, relative to the context, to
// Dest in the container, less the Strip prefix.
type SyncRule struct {
	Src   string `yaml:"src,omitempty" hoist:"required"`
	Dest  string `yaml:"dest,omitempty" hoist:"required"`
	Strip string `yaml:"strip,omitempty"`
}

// PortForward forwards a local port to a port of a deployed resource.
type PortForward struct {
	// Type is the resource's kind: pod, deployment, service, replicaset,
	// statefulset, daemonset, job (any case), or container for a
	// container that deploy.docker runs (Name is then its image name).
	Type      string      `yaml:"resourceType,omitempty"`
	Name      string      `yaml:"resourceName,omitempty"`
	Namespace string      `yaml:"namespace,omitempty"`
	Port      IntOrString `yaml:"port,omitempty"`
	// Address is the local address to listen on (127.0.0.1 by default).
	Address   string `yaml:"address,omitempty"`
	LocalPort int    `yaml:"localPort,omitempty"`
}

// IntOrString is a port number or a port name.
type IntOrString struct {
	Int int
	Str string
}

// IsZero tells the encoder's omitempty that no port is set.
func (p IntOrString) IsZero() bool { return p == IntOrString{} }

// MarshalYAML writes the number, or the name.
func (p IntOrString) MarshalYAML() (any, error) {
	if p.Str != "" {
		return p.Str, nil
	}
	return p.Int, nil
}

// otherBuilders are the builders of a that hoist does not have, by name.
func (a *Artifact) otherBuilders() map[string]Raw {
	return map[string]Raw{"jib": a.Jib, "bazel": a.Bazel, "buildpacks": a.Buildpacks, "kaniko": a.Kaniko, "ko": a.Ko}
}

// DockerArtifact builds with the Docker engine.
type DockerArtifact struct {
	Dockerfile string             `yaml:"dockerfile,omitempty"`
	BuildArgs  map[string]*string `yaml:"buildArgs,omitempty"`
	Target     string             `yaml:"target,omitempty"`
	NoCache    bool               `yaml:"noCache,omitempty"`
	Network    string             `yaml:"network,omitempty"`
	// CacheFrom are images whose layers the build may reuse.
	CacheFrom []string `yaml:"cacheFrom,omitempty"`
	// AddHost are host:ip lines added to the build's /etc/hosts.
	AddHost []string `yaml:"addHost,omitempty"`
	// PullParent pulls the base images even when they are present.
	PullParent bool `yaml:"pullParent,omitempty"`
	// Squash squashes the new layers into one (an experimental engine).
	Squash bool `yaml:"squash,omitempty"`
	// CliFlags are more flags of docker build (with useDockerCLI).
	CliFlags []string `yaml:"cliFlags,omitempty"`
	// Secrets and SSH are BuildKit's --secret and --ssh (with
	// useDockerCLI and useBuildkit).
	Secrets []*DockerSecret `yaml:"secrets,omitempty"`
	SSH     string          `yaml:"ssh,omitempty"`
	// NoCacheFilter are the stages built without the cache (with
	// useDockerCLI and useBuildkit).
	NoCacheFilter []string `yaml:"noCacheFilter,omitempty"`
}

// CustomArtifact builds by running a command that builds (and pushes) $IMAGE.
type CustomArtifact struct {
	BuildCommand string              `yaml:"buildCommand,omitempty" hoist:"required"`
	Dependencies *CustomDependencies `yaml:"dependencies,omitempty"`
}

// CustomDependencies are the files a custom build reads: those a
// Dockerfile's build would read, those a Command prints (a JSON list of
// paths relative to the context), or Paths less Ignore.
type CustomDependencies struct {
	Dockerfile *DockerfileDependency `yaml:"dockerfile,omitempty"`
	Command    string                `yaml:"command,omitempty"`
	Paths      []string              `yaml:"paths,omitempty"`
	Ignore     []string              `yaml:"ignore,omitempty"`
}

// DockerSecret is a secret a BuildKit build mounts: from the file Src or
// the environment variable Env.
type DockerSecret struct {
	ID  string `yaml:"id,omitempty" hoist:"required"`
	Src string `yaml:"src,omitempty"`
	Env string `yaml:"env,omitempty"`
}

// ResourceSelector widens (Allow) or narrows (Deny) the objects whose
// images hoist replaces with the built references.
type ResourceSelector struct {
	Allow []*ResourceFilter `yaml:"allow,omitempty"`
	Deny  []*ResourceFilter `yaml:"deny,omitempty"`
}

// ResourceFilter selects objects by GroupKind (Kind.group, such as
// Deployment.apps, or Kind for the core group), and their image fields by
// Image: regular expressions of the fields' paths, such as .* for every
// field named image.
type ResourceFilter struct {
	GroupKind string   `yaml:"groupKind,omitempty" hoist:"required"`
	Image     []string `yaml:"image,omitempty"`
	Labels    []string `yaml:"labels,omitempty"`
	PodSpec   []string `yaml:"podSpec,omitempty"`
}

// DockerfileDependency names a Dockerfile whose build context is the
// custom build's input.
type DockerfileDependency struct {
	Path      string             `yaml:"path,omitempty" hoist:"required"`
	BuildArgs map[string]*string `yaml:"buildArgs,omitempty"`
}

// TagPolicy chooses how built images are tagged. At most one is set; Parse
// sets GitCommit when none is.
type TagPolicy struct {
	GitCommit   *GitCommitTagger   `yaml:"gitCommit,omitempty"`
	Sha256      *Sha256Tagger      `yaml:"sha256,omitempty"`
	DateTime    *DateTimeTagger    `yaml:"dateTime,omitempty"`
	EnvTemplate *EnvTemplateTagger `yaml:"envTemplate,omitempty"`
	InputDigest *InputDigestTagger `yaml:"inputDigest,omitempty"`
	// CustomTemplate composes a tag of the other policies' tags.
	CustomTemplate *CustomTemplateTagger `yaml:"customTemplate,omitempty"`

	// defaulted is set when the config named no policy.
	defaulted bool
}

// isDefault reports whether the policy is the default one, not written.
func (p TagPolicy) isDefault() bool { return p.defaulted }

// GitCommitTagger tags with the git commit, tag or tree of the context.
type GitCommitTagger struct {
	// Variant is Tags (default), CommitSha, AbbrevCommitSha, TreeSha or AbbrevTreeSha.
	Variant string `yaml:"variant,omitempty"`
	Prefix  string `yaml:"prefix,omitempty"`
	// IgnoreChanges leaves the -dirty suffix off when the tree has changes.
	IgnoreChanges bool `yaml:"ignoreChanges,omitempty"`
}

// Sha256Tagger tags with "latest"; the image is then referred to by digest.
type Sha256Tagger struct{}

// DateTimeTagger tags with the build time.
type DateTimeTagger struct {
	Format   string `yaml:"format,omitempty"`
	TimeZone string `yaml:"timezone,omitempty"`
}

// EnvTemplateTagger tags with a Go template over the environment.
type EnvTemplateTagger struct {
	Template string `yaml:"template,omitempty" hoist:"required"`
}

// CustomTemplateTagger tags with Template, a Go template whose fields are
// the tags of Components by name; GIT, DATE, SHA and INPUT_DIGEST are the
// default gitCommit, dateTime, sha256 and inputDigest tags unless a
// component of that name replaces them.
type CustomTemplateTagger struct {
	Template   string             `yaml:"template,omitempty" hoist:"required"`
	Components []*TaggerComponent `yaml:"components,omitempty"`
}

// TaggerComponent is a named tag policy of a custom template.
type TaggerComponent struct {
	Name      string `yaml:"name,omitempty" hoist:"required"`
	TagPolicy `yaml:",inline"`
}

// InputDigestTagger tags with a digest of the artifact's inputs.
type InputDigestTagger struct{}

// Local configures builds on the local machine.
type Local struct {
	Push        *bool `yaml:"push,omitempty"`
	UseBuildkit *bool `yaml:"useBuildkit,omitempty"`
	Concurrency *int  `yaml:"concurrency,omitempty"`
	// UseDockerCLI builds with the docker command instead of the Engine
	// API: what docker.cliFlags, secrets and ssh need.
	UseDockerCLI bool `yaml:"useDockerCLI,omitempty"`
	// TryImportMissing pulls a cached image the engine no longer has from
	// its registry instead of building it again.
	TryImportMissing bool `yaml:"tryImportMissing,omitempty"`
}

// Deploy says where and how to deploy.
type Deploy struct {
	Kubectl                    *KubectlDeploy `yaml:"kubectl,omitempty"`
	Helm                       *HelmDeploy    `yaml:"helm,omitempty"`
	StatusCheck                *bool          `yaml:"statusCheck,omitempty"`
	StatusCheckDeadlineSeconds int            `yaml:"statusCheckDeadlineSeconds,omitempty"`
	// KubeContext is the kube context to deploy to, unless --kube-context
	// names one.
	KubeContext string `yaml:"kubeContext,omitempty"`
	// TolerateFailuresUntilDeadline keeps the status check waiting through
	// image pull errors and crash loops until the deadline.
	TolerateFailuresUntilDeadline bool `yaml:"tolerateFailuresUntilDeadline,omitempty"`
	// Docker runs the images as containers of the local Docker engine.
	Docker *DockerDeploy `yaml:"docker,omitempty"`
	// Logs says how the deployed containers' lines are shown.
	Logs Logs `yaml:"logs,omitempty"`
}

// KubectlDeploy deploys manifests with kubectl semantics.
type KubectlDeploy struct {
	// Manifests are globs relative to the config file. In v3+ configs they
	// are written under manifests.rawYaml.
	Manifests []string `yaml:"manifests,omitempty"`
	// Kustomizations are rendered with kustomize and applied with the
	// manifests; in the file they are manifests.kustomize.
	Kustomizations []Kustomization `yaml:"-"`
	// Helm, manifests.helm when deploy.helm is not set, is rendered with
	// helm template and applied with the manifests.
	Helm             *Helm  `yaml:"-"`
	DefaultNamespace string `yaml:"defaultNamespace,omitempty"`
	// Flags are kubectl's, of which hoist, applying through the API,
	// understands those that have an API equivalent.
	Flags *KubectlFlags `yaml:"flags,omitempty"`
	Hooks *DeployHooks  `yaml:"hooks,omitempty"`
}

// Event says where events go.
type Event struct {
	Log EventLog `yaml:"log,omitempty"`
	RPC EventRPC `yaml:"rpc,omitempty"`
}

// EventLog configures the stdout sink and the event log file.
type EventLog struct {
	// Level is debug, info, warn or error: the lowest level written to stdout.
	Level string `yaml:"level,omitempty"`
	// Format is json (event lines only on stdout), text (the human view)
	// or auto (the default: the human view on a terminal, json elsewhere).
	Format string `yaml:"format,omitempty"`
	// File, when set, receives every event as a JSON line.
	File string `yaml:"file,omitempty"`
}

// EventRPC configures the gRPC push to a collector.
type EventRPC struct {
	Address  string `yaml:"address,omitempty"`
	Required bool   `yaml:"required,omitempty"`
}

// Push reports whether built images are pushed (build.local.push).
func (c *Config) Push() bool { return c.Build.Local.Push != nil && *c.Build.Local.Push }

// Concurrency is how many artifacts build at once (build.local.concurrency);
// 0 means all at once, as in Skaffold.
func (c *Config) Concurrency() int {
	if c.Build.Local.Concurrency == nil {
		return 1
	}
	return *c.Build.Local.Concurrency
}

// ImageNames returns the configured image names in order.
func (c *Config) ImageNames() []string {
	names := make([]string, len(c.Build.Artifacts))
	for i, a := range c.Build.Artifacts {
		names[i] = a.ImageName
	}
	return names
}

// Deployer names the configured deployers in the order they deploy,
// separated by commas (kubectl,docker), or is "" when none is.
func (c *Config) Deployer() string {
	var names []string
	if c.Deploy.Kubectl != nil {
		names = append(names, "kubectl")
	}
	if c.Deploy.Helm != nil {
		names = append(names, "helm")
	}
	if c.Deploy.Docker != nil {
		names = append(names, "docker")
	}
	return strings.Join(names, ",")
}

// Rel returns path relative to the config's folder when it is inside it.
func (c *Config) Rel(path string) string {
	if rel, err := filepath.Rel(c.Dir, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return path
}
