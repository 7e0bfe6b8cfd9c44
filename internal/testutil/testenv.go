package testutil

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnv is the test environment that hack/testenv/up.sh (make testenv)
// starts: a Docker engine, a registry with a busybox base image and a
// Kubernetes cluster, all on loopback.
type TestEnv struct {
	Dir        string
	DockerHost string
	Kubeconfig string
	// Registry is the registry's host:port.
	Registry string
	// BaseImage is the busybox base image's full reference.
	BaseImage string
	// Path is a PATH that includes kubectl.
	Path string
	// Postgres is the URL of the PostgreSQL server's hoist database.
	Postgres string
	// Chromium is the path of Debian's chromium, for browser tests.
	Chromium string
}

// Env returns the test environment, and sets DOCKER_HOST, KUBECONFIG, PATH,
// HOIST_TEST_REGISTRY and HOIST_TEST_BASE_IMAGE for the test. It reads the variables of the env file when they are
// not set. Without a running environment the test fails when CI=true and is
// skipped, loudly, when run by hand.
func Env(t testing.TB) *TestEnv {
	t.Helper()
	vars := map[string]string{}
	dir := os.Getenv("HOIST_TESTENV_DIR")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".cache", "hoist", "testenv")
		}
	}
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
			if k, v, found := strings.Cut(line, "="); ok && found {
				vars[k] = os.Expand(strings.Trim(v, `"`), func(name string) string { return os.Getenv(name) })
			}
		}
		f.Close()
	}
	get := func(k string) string {
		if v := os.Getenv(k); v != "" && k != "PATH" {
			return v
		}
		return vars[k]
	}
	env := &TestEnv{Dir: dir, DockerHost: get("DOCKER_HOST"), Kubeconfig: get("KUBECONFIG"),
		Registry: get("HOIST_TEST_REGISTRY"), BaseImage: get("HOIST_TEST_BASE_IMAGE"), Path: get("PATH"),
		Postgres: get("HOIST_TEST_POSTGRES"), Chromium: get("HOIST_TEST_CHROMIUM")}
	if problem := env.check(); problem != "" {
		msg := "the test environment is not running (" + problem + "): start it with `make testenv` (hack/testenv/up.sh)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("\n\n*** SKIPPED: " + msg + " ***\n")
	}
	t.Setenv("DOCKER_HOST", env.DockerHost)
	t.Setenv("KUBECONFIG", env.Kubeconfig)
	t.Setenv("HOIST_TEST_REGISTRY", env.Registry)
	t.Setenv("HOIST_TEST_BASE_IMAGE", env.BaseImage)
	if env.Path != "" {
		t.Setenv("PATH", env.Path)
	}
	return env
}

func (e *TestEnv) check() string {
	if e.DockerHost == "" || e.Registry == "" || e.Kubeconfig == "" {
		return "no env file in " + e.Dir
	}
	sock := strings.TrimPrefix(e.DockerHost, "unix://")
	if c, err := net.DialTimeout("unix", sock, time.Second); err != nil {
		return "dockerd: " + err.Error()
	} else {
		c.Close()
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + e.Registry + "/v2/")
	if err != nil {
		return "registry: " + err.Error()
	}
	resp.Body.Close()
	if _, err := os.Stat(e.Kubeconfig); err != nil {
		return "kubeconfig: " + err.Error()
	}
	if e.Postgres == "" {
		return "the env file names no PostgreSQL; it predates it, so run make testenv again"
	}
	if e.Chromium == "" {
		return "no chromium was found when the env file was written; make testenv installs Debian's chromium as root"
	}
	u, err := url.Parse(e.Postgres)
	if err != nil {
		return "postgres URL: " + err.Error()
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err != nil {
		return "postgres: " + err.Error()
	} else {
		c.Close()
	}
	if _, err := os.Stat(e.Chromium); err != nil {
		return "chromium: " + err.Error()
	}
	return ""
}
