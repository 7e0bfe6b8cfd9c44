// Package docker builds artifacts with the Docker engine through its Go
// client: it streams the build context (after .dockerignore) as a tar,
// reports every line of build output with its Dockerfile step, and pushes
// the image when asked, reporting the push as it goes.
package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	hbuild "github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// tailLines is how many of the last output lines a failure carries.
const tailLines = 10

// Builder builds docker artifacts.
type Builder struct {
	Client      *client.Client
	Push        bool
	UseBuildkit bool
	// UseCLI builds with the docker command instead of the Engine API.
	UseCLI bool
	// Env is the environment build arguments are templated over.
	Env map[string]string
}

var _ hbuild.Builder = (*Builder)(nil)

var stepRE = regexp.MustCompile(`^Step (\d+)/(\d+) : (.*)$`)

// Build implements build.Builder.
func (b *Builder) Build(ctx context.Context, out hbuild.Output, a *config.Artifact, ref string) (hbuild.Result, error) {
	files, err := hbuild.Dependencies(a)
	if err != nil {
		return hbuild.Result{}, err
	}
	if _, err := b.Client.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return hbuild.Result{}, ctx.Err()
		}
		return hbuild.Result{}, daemon.Unreachable(b.Client, err)
	}
	args, err := tag.BuildArgs(a.Docker.BuildArgs, b.Env)
	if err != nil {
		return hbuild.Result{}, err
	}
	if len(a.DependencyRefs) > 0 {
		// As Skaffold does: an image it requires is passed as the build
		// argument of its alias when the Dockerfile declares that ARG, and
		// build.artifacts[].docker.buildArgs wins over it.
		declared := hbuild.DeclaredArgs(hbuild.DockerfilePath(a))
		for alias, ref := range a.DependencyRefs {
			if _, set := args[alias]; !set && declared[alias] {
				if args == nil {
					args = map[string]*string{}
				}
				args[alias] = &ref
			}
		}
	}
	dockerfile, err := filepath.Rel(a.Context, hbuild.DockerfilePath(a))
	if err != nil || !filepath.IsLocal(dockerfile) {
		return hbuild.Result{}, fault.New(fault.BuildDockerfileMissing,
			fmt.Sprintf("Dockerfile %s of %q is outside its context %s", hbuild.DockerfilePath(a), a.ImageName, a.Context),
			"move the Dockerfile into the context folder")
	}
	opts := build.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  filepath.ToSlash(dockerfile),
		BuildArgs:   args,
		Target:      a.Docker.Target,
		NoCache:     a.Docker.NoCache,
		NetworkMode: a.Docker.Network,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
		CacheFrom:   a.Docker.CacheFrom,
		ExtraHosts:  a.Docker.AddHost,
		PullParent:  a.Docker.PullParent,
		Squash:      a.Docker.Squash,
	}
	if b.UseBuildkit {
		opts.Version = build.BuilderBuildKit
	}
	if b.UseCLI {
		if err := b.buildCLI(ctx, out, a, ref, filepath.ToSlash(dockerfile), args); err != nil {
			return hbuild.Result{}, err
		}
		return b.finish(ctx, out, a, ref, "")
	}
	body := tarContext(a.Context, files)
	// Closing the context stream stops its writer should the engine stop
	// reading early; the reading end of an io.Pipe always closes cleanly.
	defer func() { _ = body.Close() }()
	st := &buildState{out: out}
	resp, err := b.Client.ImageBuild(ctx, body, opts)
	if err != nil {
		if ctx.Err() != nil {
			return hbuild.Result{}, ctx.Err()
		}
		// The engine refuses some builds before they start, such as a
		// Dockerfile it cannot parse.
		return hbuild.Result{}, st.failure(a, err)
	}
	// The build's output is read to its end or to the error reported
	// below; closing the body then only releases the connection, and
	// cannot change the build's outcome.
	defer func() { _ = resp.Body.Close() }()
	if b.UseBuildkit {
		err = st.readBuildkit(resp.Body)
	} else {
		err = st.readClassic(resp.Body)
	}
	if ctx.Err() != nil {
		return hbuild.Result{}, ctx.Err()
	}
	if err != nil {
		return hbuild.Result{}, st.failure(a, err)
	}
	return b.finish(ctx, out, a, ref, st.imageID)
}

// finish completes a build: the local image id (when the build did not
// say it), then the push.
func (b *Builder) finish(ctx context.Context, out hbuild.Output, a *config.Artifact, ref, imageID string) (hbuild.Result, error) {
	res := hbuild.Result{ImageName: a.ImageName, Tag: ref, Digest: imageID}
	if res.Digest == "" {
		inspect, err := b.Client.ImageInspect(ctx, ref)
		if err != nil {
			return hbuild.Result{}, fmt.Errorf("inspecting the built image %s: %w", ref, err)
		}
		res.Digest = inspect.ID
	}
	if !b.Push {
		return res, nil
	}
	digest, err := b.push(ctx, out, ref)
	if err != nil {
		return hbuild.Result{}, err
	}
	res.Digest, res.Pushed = digest, true
	return res, nil
}

// buildState follows a build's output.
type buildState struct {
	out     hbuild.Output
	step    *hbuild.Step
	tail    []string
	imageID string
	partial string
}

func (s *buildState) line(l string, step *hbuild.Step) {
	s.out.Line(l, step)
	if len(s.tail) == tailLines {
		s.tail = s.tail[1:]
	}
	s.tail = append(s.tail, l)
}

// messages yields the engine's JSON messages from r, the classic
// builder's and BuildKit's alike, until r ends.
func messages(r io.Reader) iter.Seq2[*jsonmessage.JSONMessage, error] {
	return func(yield func(*jsonmessage.JSONMessage, error) bool) {
		dec := json.NewDecoder(r)
		for {
			var m jsonmessage.JSONMessage
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("reading build output: %w", err))
				return
			}
			if !yield(&m, nil) {
				return
			}
		}
	}
}

// readClassic reads the classic builder's JSON messages.
func (s *buildState) readClassic(r io.Reader) error {
	for m, err := range messages(r) {
		if err != nil {
			return err
		}
		if m.Error != nil {
			s.flush()
			return errors.New(m.Error.Message)
		}
		if m.Aux != nil {
			var aux struct {
				ID string `json:"ID"`
			}
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				s.imageID = aux.ID
			}
		}
		text := m.Stream
		if text == "" && m.Status != "" && m.Progress == nil {
			// Pulling a base image reports status lines.
			text = strings.TrimSpace(m.ID+" "+m.Status) + "\n"
		}
		s.write(text)
	}
	s.flush()
	return nil
}

// write splits stream text into lines; a line may span messages.
func (s *buildState) write(text string) {
	text = s.partial + text
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			break
		}
		s.emit(strings.TrimRight(text[:i], "\r"))
		text = text[i+1:]
	}
	s.partial = text
}

func (s *buildState) flush() {
	if s.partial != "" {
		s.emit(s.partial)
		s.partial = ""
	}
}

func (s *buildState) emit(l string) {
	if m := stepRE.FindStringSubmatch(l); m != nil {
		i, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		s.step = &hbuild.Step{Index: i, Total: n, Instruction: m[3]}
		s.line(l, s.step)
		return
	}
	s.line(l, nil)
}

var (
	exitRE   = regexp.MustCompile(`returned a non-zero code: (\d+)|exit code: (\d+)`)
	syntaxRE = regexp.MustCompile(`(?i)dockerfile parse error|unknown instruction|failed to parse dockerfile|syntax error`)
	pullRE   = regexp.MustCompile(`(?i)manifest unknown|name unknown|repository \S+ not found|manifest for .* not found|pull access denied|repository does not exist|not found: manifest|failed to resolve source metadata|no such host|connection refused|i/o timeout`)
)

// failure turns a build error into a coded fault with the failing step, its
// exit status and the last lines of output. The daemon reports build errors
// only as text, so this is where that text is read.
func (s *buildState) failure(a *config.Artifact, err error) error {
	msg := err.Error()
	where := ""
	if s.step != nil {
		where = fmt.Sprintf(" at step %d/%d (%s)", s.step.Index, s.step.Total, s.step.Instruction)
	}
	tail := ""
	if len(s.tail) > 0 {
		tail = "; last output:\n" + strings.Join(s.tail, "\n")
	}
	fromStep := s.step == nil || strings.HasPrefix(strings.ToUpper(s.step.Instruction), "FROM")
	switch {
	case syntaxRE.MatchString(msg):
		return fault.New(fault.BuildDockerfileSyntax,
			fmt.Sprintf("the Dockerfile of %q has a syntax error: %s", a.ImageName, msg),
			"fix "+hbuild.DockerfilePath(a))
	case exitRE.MatchString(msg):
		m := exitRE.FindStringSubmatch(msg)
		code := m[1] + m[2]
		return fault.New(fault.BuildRunFailed,
			fmt.Sprintf("the build of %q failed%s with exit status %s: %s%s", a.ImageName, where, code, msg, tail),
			"fix the failing command, or run it in the image to see why it fails")
	case fromStep && pullRE.MatchString(msg):
		return fault.New(fault.BuildBaseImageNotFound,
			fmt.Sprintf("the base image of %q could not be pulled%s: %s", a.ImageName, where, msg),
			"check the FROM line's image name and that its registry is reachable")
	}
	return fault.New(fault.BuildDockerFailed,
		fmt.Sprintf("the build of %q failed%s: %s%s", a.ImageName, where, msg, tail),
		"check the output above and the Docker engine's log")
}

// push pushes ref and returns the registry's manifest digest.
func (b *Builder) push(ctx context.Context, out hbuild.Output, ref string) (string, error) {
	auth, err := registryAuth(ref)
	if err != nil {
		return "", err
	}
	rc, err := b.Client.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", pushFailure(ref, err)
	}
	// As with the build's output: once read, closing the push's stream
	// only releases the connection.
	defer func() { _ = rc.Close() }()
	dec := json.NewDecoder(rc)
	digest := ""
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", pushFailure(ref, err)
		}
		if m.Error != nil {
			return "", pushFailure(ref, errors.New(m.Error.Message))
		}
		if m.Aux != nil {
			var aux struct {
				Digest string `json:"Digest"`
			}
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		// Progress bars are noise in an event stream; what a layer ended
		// up as, and the final digest line, are not.
		switch m.Status {
		case "", "Preparing", "Waiting", "Pushing":
			continue
		}
		line := m.Status
		if m.ID != "" {
			line = m.ID + ": " + m.Status
		}
		out.Line(line, nil)
	}
	if digest == "" {
		return "", pushFailure(ref, errors.New("the engine reported no digest"))
	}
	return digest, nil
}

func pushFailure(ref string, err error) error {
	msg := err.Error()
	if regexp.MustCompile(`(?i)connection refused|no such host|i/o timeout|dial tcp|network is unreachable|EOF`).MatchString(msg) {
		return fault.Wrap(err, fault.BuildRegistryUnreachable,
			fmt.Sprintf("pushing %s: the registry is unreachable", ref),
			"check that the registry runs and that --default-repo or the image name points at it")
	}
	return fault.Wrap(err, fault.BuildRegistryRefused,
		fmt.Sprintf("pushing %s: the registry refused the push", ref),
		"log in with docker login, or check the repository's permissions")
}

// registryAuth encodes the credentials the user's docker config has for
// ref's registry, as the engine expects them.
func registryAuth(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", ref, err)
	}
	auth, err := authn.DefaultKeychain.Resolve(r.Context().Registry)
	if err != nil {
		return "", fmt.Errorf("reading credentials for %s: %w", r.Context().RegistryStr(), err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		return "", fmt.Errorf("reading credentials for %s: %w", r.Context().RegistryStr(), err)
	}
	data, err := json.Marshal(registry.AuthConfig{Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken, ServerAddress: r.Context().RegistryStr()})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(data), nil
}
