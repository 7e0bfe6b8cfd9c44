package testutil

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test environment is what hack/testenv/up.sh (make testenv) starts, on
// loopback: a Docker engine, a registry with a busybox base image, a
// Kubernetes cluster, a PostgreSQL server and Debian's Chromium. Each
// function below checks the one part a test needs, so that a test of the
// collector's PostgreSQL store does not depend on Chromium. Without that
// part the test fails when CI=true and is skipped, loudly, when run by hand.

// envFile reads the variables of the environment's env file once.
var envFile = sync.OnceValues(func() (map[string]string, string) {
	vars := map[string]string{}
	dir := os.Getenv("HOIST_TESTENV_DIR")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".cache", "hoist", "testenv")
		}
	}
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		return vars, dir
	}
	// Closing a file that was only read loses nothing.
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, found := strings.Cut(line, "="); ok && found {
			vars[k] = os.Expand(strings.Trim(v, `"`), os.Getenv)
		}
	}
	return vars, dir
})

// envVar is k from the process's environment, or else from the env file.
func envVar(k string) string {
	if v := os.Getenv(k); v != "" && k != "PATH" {
		return v
	}
	vars, _ := envFile()
	return vars[k]
}

// missing fails or skips t because part of the environment is absent.
func missing(t testing.TB, part, problem string) {
	t.Helper()
	_, dir := envFile()
	msg := "the test environment's " + part + " is not available (" + problem + "): start it with `make testenv` (hack/testenv/up.sh; env file in " + dir + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("\n\n*** SKIPPED: " + msg + " ***\n")
}

// DockerEnv is the test environment's Docker engine and registry.
type DockerEnv struct {
	// Host is the engine's DOCKER_HOST.
	Host string
	// Registry is the registry's host:port.
	Registry string
	// BaseImage is the busybox base image's full reference.
	BaseImage string
}

// Docker checks the Docker engine and the registry with its base image,
// and sets DOCKER_HOST, HOIST_TEST_REGISTRY and HOIST_TEST_BASE_IMAGE for
// the test.
func Docker(t testing.TB) *DockerEnv {
	t.Helper()
	d := &DockerEnv{Host: envVar("DOCKER_HOST"), Registry: envVar("HOIST_TEST_REGISTRY"), BaseImage: envVar("HOIST_TEST_BASE_IMAGE")}
	switch {
	case d.Host == "" || d.Registry == "" || d.BaseImage == "":
		missing(t, "Docker engine", "the env file names no DOCKER_HOST, registry or base image")
	case !dials("unix", strings.TrimPrefix(d.Host, "unix://")):
		missing(t, "Docker engine", "nothing answers on "+d.Host)
	case !registryAnswers(d.Registry):
		missing(t, "registry", "nothing answers on "+d.Registry)
	}
	t.Setenv("DOCKER_HOST", d.Host)
	t.Setenv("HOIST_TEST_REGISTRY", d.Registry)
	t.Setenv("HOIST_TEST_BASE_IMAGE", d.BaseImage)
	return d
}

// RealNode is the test environment's node whose containers run; the other
// one, kwok's, is tainted so that only pods that tolerate it go there.
const RealNode = "hoist-node-0"

// KubernetesEnv is the test environment's cluster.
type KubernetesEnv struct {
	Kubeconfig string
	// Path is a PATH that includes kubectl.
	Path string
}

// Kubernetes checks the cluster's kubeconfig and API server, and sets
// KUBECONFIG and a PATH with kubectl for the test.
func Kubernetes(t testing.TB) *KubernetesEnv {
	t.Helper()
	k := &KubernetesEnv{Kubeconfig: envVar("KUBECONFIG"), Path: envVar("PATH")}
	if k.Kubeconfig == "" {
		missing(t, "Kubernetes cluster", "the env file names no KUBECONFIG")
	}
	if _, err := os.Stat(k.Kubeconfig); err != nil {
		missing(t, "Kubernetes cluster", "kubeconfig: "+err.Error())
	}
	if server := apiServer(k.Kubeconfig); server != "" && !dials("tcp", server) {
		missing(t, "Kubernetes cluster", "no API server answers on "+server)
	}
	t.Setenv("KUBECONFIG", k.Kubeconfig)
	if k.Path != "" {
		t.Setenv("PATH", k.Path)
	}
	return k
}

// Postgres checks the PostgreSQL server and returns the URL of its hoist
// database. Tests that write use PostgresDB, which gives each a database.
func Postgres(t testing.TB) string {
	t.Helper()
	raw := envVar("HOIST_TEST_POSTGRES")
	if raw == "" {
		missing(t, "PostgreSQL server", "the env file names none; it predates it, so run make testenv again")
	}
	u, err := url.Parse(raw)
	if err != nil {
		missing(t, "PostgreSQL server", "its URL: "+err.Error())
	}
	if !dials("tcp", u.Host) {
		missing(t, "PostgreSQL server", "nothing answers on "+u.Host)
	}
	return raw
}

// Chromium returns the path of the environment's headless Chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	p := envVar("HOIST_TEST_CHROMIUM")
	if p == "" {
		missing(t, "Chromium", "none was found when the env file was written; make testenv installs Debian's chromium as root")
	}
	if _, err := os.Stat(p); err != nil {
		missing(t, "Chromium", err.Error())
	}
	return p
}

func dials(network, addr string) bool {
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return false
	}
	return c.Close() == nil
}

func registryAnswers(hostport string) bool {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + hostport + "/v2/")
	if err != nil {
		return false
	}
	return resp.Body.Close() == nil
}

// apiServer reads the host:port of the first cluster's server in a
// kubeconfig, or "" when it names none it can read.
func apiServer(kubeconfig string) string {
	data, err := os.ReadFile(kubeconfig)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "server:"); ok {
			if u, err := url.Parse(strings.TrimSpace(v)); err == nil && u.Host != "" {
				return u.Host
			}
		}
	}
	return ""
}
