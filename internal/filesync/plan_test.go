package filesync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
)

// buildContext makes a build context with the files given (path: content).
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPlanManual(t *testing.T) {
	dir := buildContext(t, map[string]string{
		"Dockerfile":         "FROM busybox\nCOPY app/ /app/\n",
		".dockerignore":      "",
		"app/www/index.html": "<h1>hi</h1>",
		"app/www/css/a.css":  "body{}",
		"app/serve.sh":       "#!/bin/sh",
		"static/logo.svg":    "<svg/>",
	})
	abs := func(rels ...string) []string {
		var out []string
		for _, r := range rels {
			out = append(out, filepath.Join(dir, filepath.FromSlash(r)))
		}
		return out
	}
	rules := []*config.SyncRule{
		{Src: "app/www/**", Dest: "/app/www", Strip: "app/www/"},
		{Src: "static/*", Dest: "/srv"},
	}
	for _, tc := range []struct {
		name    string
		rules   []*config.SyncRule
		changed []string
		deleted []string // removed from the context first
		want    *Item
		wantErr string
	}{
		{
			name:    "strip removes the prefix",
			changed: abs("app/www/index.html", "app/www/css/a.css"),
			want: &Item{Copy: map[string][]string{
				abs("app/www/index.html")[0]: {"/app/www/index.html"},
				abs("app/www/css/a.css")[0]:  {"/app/www/css/a.css"},
			}},
		},
		{
			name:    "without strip the path is kept under dest",
			changed: abs("static/logo.svg"),
			want:    &Item{Copy: map[string][]string{abs("static/logo.svg")[0]: {"/srv/static/logo.svg"}}},
		},
		{
			name:    "two rules, two destinations",
			rules:   append(rules, &config.SyncRule{Src: "app/**/*.html", Dest: "/backup"}),
			changed: abs("app/www/index.html"),
			want:    &Item{Copy: map[string][]string{abs("app/www/index.html")[0]: {"/app/www/index.html", "/backup/app/www/index.html"}}},
		},
		{
			name:    "a deleted file is deleted in the container",
			changed: abs("app/www/css/a.css", "app/www/index.html"),
			deleted: []string{"app/www/css/a.css"},
			want: &Item{Copy: map[string][]string{abs("app/www/index.html")[0]: {"/app/www/index.html"}},
				Delete: []string{"/app/www/css/a.css"}},
		},
		{
			name:    "one file that no rule matches rebuilds",
			changed: abs("app/www/index.html", "app/serve.sh"),
			wantErr: "app/serve.sh matches no sync rule",
		},
		{
			name:    "the Dockerfile is never synced",
			rules:   []*config.SyncRule{{Src: "**", Dest: "/"}},
			changed: abs("Dockerfile"),
			wantErr: "Dockerfile tells how",
		},
		{
			name:    "nor is .dockerignore",
			rules:   []*config.SyncRule{{Src: "**", Dest: "/"}},
			changed: abs(".dockerignore"),
			wantErr: ".dockerignore tells how",
		},
		{
			name:    "a file outside the context",
			changed: []string{filepath.Join(filepath.Dir(dir), "elsewhere.txt")},
			wantErr: "outside the context",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := buildContext(t, nil)
			if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			// The cases share dir's paths: delete in a copy, then plan there.
			rebase := func(ps []string) []string {
				var out []string
				for _, p := range ps {
					rel, _ := filepath.Rel(dir, p)
					out = append(out, filepath.Join(d, rel))
				}
				return out
			}
			for _, rel := range tc.deleted {
				if err := os.Remove(filepath.Join(d, rel)); err != nil {
					t.Fatal(err)
				}
			}
			r := tc.rules
			if r == nil {
				r = rules
			}
			a := &config.Artifact{ImageName: "web", Context: d, Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"},
				Sync: &config.Sync{Manual: r}}
			got, err := Plan(a, rebase(tc.changed))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Plan = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &Item{Copy: map[string][]string{}, Delete: tc.want.Delete}
			for k, v := range tc.want.Copy {
				want.Copy[rebase([]string{k})[0]] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
			if got.Files() != len(tc.changed) {
				t.Errorf("Files() = %d, want %d", got.Files(), len(tc.changed))
			}
		})
	}
}

func TestPlanWithoutRules(t *testing.T) {
	dir := buildContext(t, map[string]string{"a.txt": "a"})
	auto := true
	for _, s := range []*config.Sync{nil, {Auto: &auto}} {
		a := &config.Artifact{ImageName: "web", Context: dir, Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"}, Sync: s}
		if Enabled(a) {
			t.Errorf("Enabled(%+v) = true", s)
		}
		if it, err := Plan(a, []string{filepath.Join(dir, "a.txt")}); err == nil {
			t.Errorf("Plan with sync %+v = %+v, want an error", s, it)
		}
	}
}

func TestPlanInfer(t *testing.T) {
	dir := buildContext(t, map[string]string{
		"Dockerfile": `ARG BASE=busybox
FROM ${BASE} AS build
COPY . /src
FROM busybox
WORKDIR /app
COPY app/ ./
COPY --from=build /src/config.yaml /etc/config.yaml
ADD https://example.com/x.tgz /tmp/
ADD vendor.tar.gz /opt/
`,
		"app/www/index.html": "<h1>hi</h1>",
		"app/serve.sh":       "#!/bin/sh",
		"config.yaml":        "a: 1",
		"vendor.tar.gz":      "not really",
		"docs/README.md":     "docs",
	})
	a := &config.Artifact{ImageName: "web", Context: dir, Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"},
		Sync: &config.Sync{Infer: []string{"app/**", "config.yaml", "*.tar.gz", "docs/**"}}}
	p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	got, err := Plan(a, []string{p("app/www/index.html"), p("app/serve.sh")})
	if err != nil {
		t.Fatal(err)
	}
	want := &Item{Copy: map[string][]string{p("app/www/index.html"): {"/app/www/index.html"}, p("app/serve.sh"): {"/app/serve.sh"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		file, wantErr string
	}{
		// Copied by the build stage only, and from there by --from.
		{"config.yaml", "the Dockerfile does not copy config.yaml"},
		{"vendor.tar.gz", "line 9, which hoist cannot mirror"},
		{"docs/README.md", "does not copy docs/README.md"},
		{"Dockerfile", "tells how"},
	} {
		a.Sync.Infer = append(a.Sync.Infer, "Dockerfile")
		if it, err := Plan(a, []string{p(tc.file)}); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Plan(%s) = %+v, %v; want an error with %q", tc.file, it, err, tc.wantErr)
		}
	}
	a.Sync.Infer = []string{"app/www/**"}
	if it, err := Plan(a, []string{p("app/serve.sh")}); err == nil || !strings.Contains(err.Error(), "matches no sync.infer pattern") {
		t.Errorf("a file that no infer pattern matches: %+v, %v", it, err)
	}
	if err := os.Remove(p("app/www/index.html")); err != nil {
		t.Fatal(err)
	}
	if it, err := Plan(a, []string{p("app/www/index.html")}); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("a deleted file with infer: %+v, %v; want a rebuild", it, err)
	}
}

// A relative dest is relative to the image's WORKDIR, as in Skaffold's
// examples (dest: .).
func TestPlanManualRelativeDest(t *testing.T) {
	for _, tc := range []struct {
		dockerfile, want string
	}{
		{"FROM busybox\nWORKDIR /srv\nWORKDIR app\nCOPY . .\n", "/srv/app/src/main.js"},
		{"FROM busybox AS base\nWORKDIR /opt\nFROM base\nCOPY . .\n", "/opt/src/main.js"},
		{"FROM busybox\nCOPY . /x\n", "/src/main.js"}, // the base image's, which hoist does not read
	} {
		dir := buildContext(t, map[string]string{"Dockerfile": tc.dockerfile, "src/main.js": "1"})
		a := &config.Artifact{ImageName: "web", Context: dir, Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"},
			Sync: &config.Sync{Manual: []*config.SyncRule{{Src: "src/**", Dest: "."}}}}
		it, err := Plan(a, []string{filepath.Join(dir, "src", "main.js")})
		if err != nil {
			t.Fatal(err)
		}
		if got := it.Copy[filepath.Join(dir, "src", "main.js")]; !cmp.Equal(got, []string{tc.want}) {
			t.Errorf("%q: copied to %v, want %s", tc.dockerfile, got, tc.want)
		}
	}
}
