package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
)

func TestDeployLogs(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(head+`deploy:
  logs:
    prefix: podAndContainer
    jsonParse:
      fields: [message, severity]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Logs{Prefix: "podAndContainer", JSONParse: config.JSONParse{Fields: []string{"message", "severity"}}}
	if diff := cmp.Diff(want, cfg.Deploy.Logs); diff != "" {
		t.Errorf("deploy.logs (-want +got):\n%s", diff)
	}
	// hoist diagnose prints it back, and what it prints loads the same.
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := config.Parse("diagnose.yaml", out)
	if err != nil {
		t.Fatalf("the effective config does not load: %v\n%s", err, out)
	}
	if diff := cmp.Diff(want, again.Deploy.Logs); diff != "" {
		t.Errorf("deploy.logs after a round trip (-want +got):\n%s", diff)
	}

	// Without deploy.logs the prefix is auto, in every apiVersion that has
	// a deploy section.
	for _, v := range []string{"skaffold/v1beta13", "skaffold/v2beta28", "skaffold/v4beta14"} {
		cfg, err := config.Parse("skaffold.yaml", []byte("apiVersion: "+v+"\nkind: Config\n"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(config.Logs{Prefix: "auto"}, cfg.Deploy.Logs); diff != "" {
			t.Errorf("%s: deploy.logs (-want +got):\n%s", v, diff)
		}
	}
}

// With several configs, deploy.logs is the root config's, as every
// setting that does not add up.
func TestDeployLogsOfTheRootConfig(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml":     head + "requires: [{path: svc}]\ndeploy: {logs: {prefix: none}}\n",
		"svc/skaffold.yaml": head + "deploy: {logs: {prefix: container, jsonParse: {fields: [msg]}}}\n",
	})
	cfg, err := config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(config.Logs{Prefix: "none"}, cfg.Deploy.Logs); diff != "" {
		t.Errorf("deploy.logs (-want +got):\n%s", diff)
	}
	// A wrong prefix in a required config is told at its own line.
	dir = tree(t, map[string]string{
		"skaffold.yaml":     head + "requires: [{path: svc}]\n",
		"svc/skaffold.yaml": head + "deploy:\n  logs: {prefix: pod}\n",
	})
	_, err = config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{})
	if err == nil || !strings.Contains(err.Error(), "svc/skaffold.yaml:4:18: "+`deploy.logs.prefix: "pod" is not one of auto, container, podAndContainer, none`) {
		t.Errorf("a wrong prefix in a required config: %v", err)
	}
}
