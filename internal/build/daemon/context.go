package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker/docker/client"

	"github.com/hoist-dev/hoist/internal/fault"
)

// endpoint is where the docker CLI would connect, following its order:
// DOCKER_CONTEXT, then DOCKER_HOST, then the current context of
// config.json, then the default socket.
type endpoint struct {
	// Context names the docker context used, "" for the environment.
	Context string
	Host    string
	TLS     bool
}

func configDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker")
}

func resolve() (endpoint, error) {
	name := os.Getenv("DOCKER_CONTEXT")
	if name == "" && os.Getenv("DOCKER_HOST") != "" {
		return endpoint{}, nil
	}
	if name == "" {
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		data, err := os.ReadFile(filepath.Join(configDir(), "config.json"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return endpoint{}, fmt.Errorf("reading docker config: %w", err)
		}
		if len(data) > 0 {
			if err := json.Unmarshal(data, &cfg); err != nil {
				return endpoint{}, fmt.Errorf("reading %s: %w", filepath.Join(configDir(), "config.json"), err)
			}
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return endpoint{}, nil
	}
	sum := sha256.Sum256([]byte(name))
	path := filepath.Join(configDir(), "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	var meta struct {
		Endpoints map[string]struct {
			Host          string `json:"Host"`
			SkipTLSVerify bool   `json:"SkipTLSVerify"`
		} `json:"Endpoints"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return endpoint{}, fault.Wrap(err, fault.BuildDockerUnreachable,
			fmt.Sprintf("docker context %q not found", name), "list contexts with docker context ls, or unset DOCKER_CONTEXT")
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return endpoint{}, fmt.Errorf("reading docker context %q: %w", name, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return endpoint{}, fmt.Errorf("docker context %q has no docker endpoint", name)
	}
	_, tlsErr := os.Stat(filepath.Join(configDir(), "contexts", "tls", hex.EncodeToString(sum[:]), "docker"))
	return endpoint{Context: name, Host: ep.Host, TLS: tlsErr == nil}, nil
}

// options returns the client options for an endpoint.
func (e endpoint) options() []client.Opt {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	if e.Host == "" {
		return append([]client.Opt{client.FromEnv}, opts...)
	}
	opts = append(opts, client.WithHost(e.Host))
	if e.TLS {
		sum := sha256.Sum256([]byte(e.Context))
		dir := filepath.Join(configDir(), "contexts", "tls", hex.EncodeToString(sum[:]), "docker")
		opts = append(opts, client.WithTLSClientConfig(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")))
	}
	return opts
}
