package docker_test

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	hbuild "github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/docker"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// engine is a fake Docker engine: it answers the calls the builder makes
// with what a test gives it, and records what it was asked.
type engine struct {
	// build answers a build, one JSON message a line; refuse, when set,
	// refuses it with this message instead.
	build  []string
	refuse string
	// imageID is what inspecting the built image returns; "" is not found.
	imageID string
	// push answers a push.
	push []string

	mu       sync.Mutex
	requests []request
}

// request is a call the engine received.
type request struct {
	Path  string
	Query url.Values
	// Files is a build's context, from its tar: name to content, or to
	// "-> target" for a symbolic link.
	Files map[string]string
	// Auth is a push's X-Registry-Auth, decoded.
	Auth map[string]string
}

func (e *engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if v, rest, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/"); ok && strings.HasPrefix(v, "v1.") {
		path = "/" + rest
	}
	if path == "/_ping" {
		w.Header().Set("API-Version", api.DefaultVersion)
		_, _ = io.WriteString(w, "OK")
		return
	}
	req := request{Path: path, Query: r.URL.Query()}
	var answer []string
	switch {
	case path == "/build":
		files, err := untar(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Files = files
		if e.refuse != "" {
			e.record(req)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": e.refuse})
			return
		}
		answer = e.build
	case strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/json"):
		if e.imageID == "" {
			e.record(req)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": "No such image"})
			return
		}
		answer = []string{`{"Id":"` + e.imageID + `"}`}
	case strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/push"):
		data, err := base64.URLEncoding.DecodeString(r.Header.Get("X-Registry-Auth"))
		if err == nil {
			err = json.Unmarshal(data, &req.Auth)
		}
		if err != nil {
			http.Error(w, "X-Registry-Auth: "+err.Error(), http.StatusBadRequest)
			return
		}
		answer = e.push
	default:
		http.NotFound(w, r)
		return
	}
	e.record(req)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, strings.Join(answer, "\n"))
}

func (e *engine) record(r request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = append(e.requests, r)
}

func untar(r io.Reader) (map[string]string, error) {
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeSymlink {
			files[hdr.Name] = "-> " + hdr.Linkname
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[hdr.Name] = string(data)
	}
}

// start serves e and returns a client of it.
func (e *engine) start(t *testing.T) *client.Client {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := client.NewClientWithOpts(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithVersion(api.DefaultVersion))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// output records a build's lines, a step's marked with its index.
type output struct{ lines []string }

func (o *output) Line(l string, step *hbuild.Step) {
	if step != nil {
		l = "[step " + strconv.Itoa(step.Index) + "] " + l
	}
	o.lines = append(o.lines, l)
}

// project is a docker artifact in a temporary folder: a Dockerfile, a
// source file, and a secret that .dockerignore leaves out.
func project(t *testing.T) *config.Artifact {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Dockerfile":    "FROM scratch\nCOPY main.go /\n",
		"main.go":       "package main\n",
		"secret.env":    "TOKEN=1\n",
		".dockerignore": "*.env\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("main.go", filepath.Join(dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	v := "{{.VERSION}}"
	return &config.Artifact{ImageName: "app", Context: dir, Docker: &config.DockerArtifact{
		Dockerfile: "Dockerfile", Target: "prod", BuildArgs: map[string]*string{"VERSION": &v, "EMPTY": nil}}}
}

const ref = "reg.local/app:v1"

func TestBuildSendsTheContextAndOptions(t *testing.T) {
	e := &engine{build: []string{`{"aux":{"ID":"sha256:img"}}`}}
	b := &docker.Builder{Client: e.start(t), Env: map[string]string{"VERSION": "1.2"}}
	a := project(t)
	if _, err := b.Build(t.Context(), &output{}, a, ref); err != nil {
		t.Fatal(err)
	}
	if len(e.requests) != 1 {
		t.Fatalf("requests %v, want one build", e.requests)
	}
	got := e.requests[0]
	wantFiles := map[string]string{
		".dockerignore": "*.env\n",
		"Dockerfile":    "FROM scratch\nCOPY main.go /\n",
		"link.go":       "-> main.go",
		"main.go":       "package main\n",
	}
	if diff := cmp.Diff(wantFiles, got.Files); diff != "" {
		t.Errorf("the context sent (-want +got):\n%s", diff)
	}
	var args map[string]*string
	if err := json.Unmarshal([]byte(got.Query.Get("buildargs")), &args); err != nil {
		t.Fatalf("buildargs %q: %v", got.Query.Get("buildargs"), err)
	}
	version := "1.2"
	if diff := cmp.Diff(map[string]*string{"VERSION": &version, "EMPTY": nil}, args); diff != "" {
		t.Errorf("build arguments (-want +got):\n%s", diff)
	}
	for key, want := range map[string]string{"t": ref, "dockerfile": "Dockerfile", "target": "prod", "version": "1", "forcerm": "1"} {
		if v := got.Query.Get(key); v != want {
			t.Errorf("query %s=%q, want %q", key, v, want)
		}
	}
}

func TestBuild(t *testing.T) {
	const (
		runFails = `{"errorDetail":{"code":2,"message":"The command '/bin/sh -c make' returned a non-zero code: 2"},"error":"The command '/bin/sh -c make' returned a non-zero code: 2"}`
		pushed   = `{"aux":{"Tag":"v1","Digest":"sha256:pushed","Size":528}}`
	)
	classic := []string{
		`{"stream":"Step 1/2 : FROM scratch\n"}`,
		`{"stream":" ---\u003e Running\n"}`,
		`{"stream":"Step 2/2 : COPY main.go /\n"}`,
	}
	classicLines := []string{"[step 1] Step 1/2 : FROM scratch", " ---> Running", "[step 2] Step 2/2 : COPY main.go /"}
	pushLines := []string{
		`{"status":"The push refers to repository [reg.local/app]"}`,
		`{"status":"Preparing","id":"abc"}`,
		`{"status":"Pushing","id":"abc","progressDetail":{"current":1,"total":2},"progress":"[=>  ]"}`,
		`{"status":"Pushed","id":"abc"}`,
		`{"status":"v1: digest: sha256:pushed size: 528"}`,
	}
	for _, tc := range []struct {
		name      string
		engine    *engine
		buildkit  bool
		push      bool
		want      hbuild.Result
		wantLines []string
		wantCode  fault.Code
		// wantPaths are the API calls made after the ping.
		wantPaths []string
	}{
		{
			name:      "classic builder: the image id from its output",
			engine:    &engine{build: append(classic, `{"aux":{"ID":"sha256:img"}}`, `{"stream":"Successfully built img\n"}`)},
			want:      hbuild.Result{ImageName: "app", Tag: ref, Digest: "sha256:img"},
			wantLines: append(classicLines, "Successfully built img"),
			wantPaths: []string{"/build"},
		},
		{
			name:      "BuildKit",
			engine:    &engine{build: []string{`{"id":"moby.image.id","aux":{"ID":"sha256:bk"}}`}},
			buildkit:  true,
			want:      hbuild.Result{ImageName: "app", Tag: ref, Digest: "sha256:bk"},
			wantPaths: []string{"/build"},
		},
		{
			name:      "no image id in the output: the image is inspected",
			engine:    &engine{build: classic, imageID: "sha256:inspected"},
			want:      hbuild.Result{ImageName: "app", Tag: ref, Digest: "sha256:inspected"},
			wantLines: classicLines,
			wantPaths: []string{"/build", "/images/" + ref + "/json"},
		},
		{
			name:      "no image id and no image",
			engine:    &engine{build: classic},
			wantLines: classicLines,
			wantCode:  fault.Unknown,
			wantPaths: []string{"/build", "/images/" + ref + "/json"},
		},
		{
			name:      "a step fails",
			engine:    &engine{build: append(classic, runFails)},
			wantLines: classicLines,
			wantCode:  fault.BuildRunFailed,
			wantPaths: []string{"/build"},
		},
		{
			name:      "the engine refuses the Dockerfile",
			engine:    &engine{refuse: "dockerfile parse error on line 1: unknown instruction: FORM"},
			wantCode:  fault.BuildDockerfileSyntax,
			wantPaths: []string{"/build"},
		},
		{
			name:      "pushed: the registry's digest, and what each layer became",
			engine:    &engine{build: []string{`{"aux":{"ID":"sha256:img"}}`}, push: append(pushLines, pushed)},
			push:      true,
			want:      hbuild.Result{ImageName: "app", Tag: ref, Digest: "sha256:pushed", Pushed: true},
			wantLines: []string{"The push refers to repository [reg.local/app]", "abc: Pushed", "v1: digest: sha256:pushed size: 528"},
			wantPaths: []string{"/build", "/images/reg.local/app/push"},
		},
		{
			name: "the registry refuses the push",
			engine: &engine{build: []string{`{"aux":{"ID":"sha256:img"}}`}, push: []string{
				`{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied"}`}},
			push:      true,
			wantCode:  fault.BuildRegistryRefused,
			wantPaths: []string{"/build", "/images/reg.local/app/push"},
		},
		{
			name: "the registry cannot be reached",
			engine: &engine{build: []string{`{"aux":{"ID":"sha256:img"}}`}, push: []string{
				`{"errorDetail":{"message":"Get \"https://reg.local/v2/\": dial tcp: lookup reg.local: no such host"},"error":"x"}`}},
			push:      true,
			wantCode:  fault.BuildRegistryUnreachable,
			wantPaths: []string{"/build", "/images/reg.local/app/push"},
		},
		{
			name:      "a push that names no digest",
			engine:    &engine{build: []string{`{"aux":{"ID":"sha256:img"}}`}, push: pushLines[:1]},
			push:      true,
			wantLines: []string{"The push refers to repository [reg.local/app]"},
			wantCode:  fault.BuildRegistryRefused,
			wantPaths: []string{"/build", "/images/reg.local/app/push"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", t.TempDir())
			b := &docker.Builder{Client: tc.engine.start(t), UseBuildkit: tc.buildkit, Push: tc.push, Env: map[string]string{"VERSION": "1"}}
			out := &output{}
			got, err := b.Build(t.Context(), out, project(t), ref)
			if code := codeOf(err); code != tc.wantCode {
				t.Errorf("Build returned %v (code %q), want code %q", err, code, tc.wantCode)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLines, out.lines); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			var paths []string
			for _, r := range tc.engine.requests {
				paths = append(paths, r.Path)
			}
			if diff := cmp.Diff(tc.wantPaths, paths); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if tc.buildkit && len(tc.engine.requests) > 0 {
				if v := tc.engine.requests[0].Query.Get("version"); v != "2" {
					t.Errorf("builder version %q, want BuildKit's 2", v)
				}
			}
		})
	}
}

func TestPushSendsTheCredentials(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"auths":{"reg.local":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("user:secret")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	e := &engine{build: []string{`{"aux":{"ID":"sha256:img"}}`}, push: []string{`{"aux":{"Digest":"sha256:pushed"}}`}}
	b := &docker.Builder{Client: e.start(t), Push: true, Env: map[string]string{"VERSION": "1"}}
	if _, err := b.Build(t.Context(), &output{}, project(t), ref); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"username": "user", "password": "secret", "serveraddress": "reg.local"}
	if diff := cmp.Diff(want, e.requests[len(e.requests)-1].Auth); diff != "" {
		t.Errorf("X-Registry-Auth (-want +got):\n%s", diff)
	}
}

func TestBuildEngineUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	c, err := client.NewClientWithOpts(client.WithHost("tcp://"+addr), client.WithVersion(api.DefaultVersion))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&docker.Builder{Client: c, Env: map[string]string{"VERSION": "1"}}).Build(t.Context(), &output{}, project(t), ref)
	if got := codeOf(err); got != fault.BuildDockerUnreachable {
		t.Errorf("Build returned %v (code %q), want %s", err, got, fault.BuildDockerUnreachable)
	}
}

func TestBuildDockerfileOutsideContext(t *testing.T) {
	e := &engine{}
	a := project(t)
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(outside, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.Docker.Dockerfile = outside
	_, err := (&docker.Builder{Client: e.start(t), Env: map[string]string{"VERSION": "1"}}).Build(t.Context(), &output{}, a, ref)
	if got := codeOf(err); got != fault.BuildDockerfileMissing {
		t.Errorf("Build returned %v (code %q), want %s", err, got, fault.BuildDockerfileMissing)
	}
	if len(e.requests) != 0 {
		t.Errorf("the engine was asked %v", e.requests)
	}
}

func codeOf(err error) fault.Code {
	if err == nil {
		return ""
	}
	return fault.CodeOf(err)
}
