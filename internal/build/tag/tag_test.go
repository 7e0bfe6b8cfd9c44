package tag_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
)

// writeFile writes a file of a test's tree, failing the test if it cannot.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q"}, {"config", "user.email", "t@example.com"}, {"config", "user.name", "t"},
		{"add", "."}, {"commit", "-q", "-m", "first"}, {"tag", "v1.2.0"},
	} {
		if args[0] == "add" {
			writeFile(t, filepath.Join(dir, "main.go"), "package main\n")
		}
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestPolicies(t *testing.T) {
	repo := gitRepo(t)
	now := time.Date(2024, 3, 1, 12, 30, 45, 0, time.UTC)
	artifact := &config.Artifact{ImageName: "app", Context: repo, Custom: &config.CustomArtifact{BuildCommand: "make image"}}
	tests := []struct {
		name   string
		policy config.TagPolicy
		want   string // a regular expression
	}{
		{"gitCommit tags", config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "Tags"}}, `^v1\.2\.0$`},
		{"gitCommit prefix", config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "Tags", Prefix: "rel-"}}, `^rel-v1\.2\.0$`},
		{"gitCommit sha", config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "CommitSha"}}, `^[0-9a-f]{40}$`},
		{"gitCommit abbrev", config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "AbbrevCommitSha"}}, `^[0-9a-f]{7,}$`},
		{"gitCommit tree", config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "TreeSha"}}, `^[0-9a-f]{40}$`},
		{"sha256", config.TagPolicy{Sha256: &config.Sha256Tagger{}}, `^latest$`},
		{"dateTime", config.TagPolicy{DateTime: &config.DateTimeTagger{Format: "2006-01-02_15-04", TimeZone: "UTC"}}, `^2024-03-01_12-30$`},
		{"envTemplate", config.TagPolicy{EnvTemplate: &config.EnvTemplateTagger{Template: "{{.RELEASE}}-rc"}}, `^r42-rc$`},
		{"inputDigest", config.TagPolicy{InputDigest: &config.InputDigestTagger{}}, `^[0-9a-f]{64}$`},
		{"customTemplate of components and the defaults", config.TagPolicy{CustomTemplate: &config.CustomTemplateTagger{
			Template: "{{.GIT}}_{{.WHEN}}_{{.SHA}}",
			Components: []*config.TaggerComponent{{Name: "WHEN", TagPolicy: config.TagPolicy{
				DateTime: &config.DateTimeTagger{Format: "20060102", TimeZone: "UTC"}}}}}}, `^v1\.2\.0_20240301_latest$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := &tag.Tagger{Policy: tt.policy, Now: func() time.Time { return now }, Env: map[string]string{"RELEASE": "r42"}}
			got, err := tg.Tag(t.Context(), artifact)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("tag = %q, want %s", got, tt.want)
			}
		})
	}
}

func TestGitCommitDirty(t *testing.T) {
	repo := gitRepo(t)
	writeFile(t, filepath.Join(repo, "main.go"), "package main // changed\n")
	a := &config.Artifact{ImageName: "app", Context: repo}
	got, err := (&tag.Tagger{Policy: config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "Tags"}}}).Tag(t.Context(), a)
	if err != nil || got != "v1.2.0-dirty" {
		t.Errorf("tag = %q, %v; want v1.2.0-dirty", got, err)
	}
}

func TestInputDigestFollowsInputs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM x\n")
	writeFile(t, filepath.Join(dir, "a.txt"), "a")
	writeFile(t, filepath.Join(dir, "ignored.log"), "1")
	writeFile(t, filepath.Join(dir, ".dockerignore"), "*.log\n")
	a := &config.Artifact{ImageName: "app", Context: dir, Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"}}
	tg := &tag.Tagger{Policy: config.TagPolicy{InputDigest: &config.InputDigestTagger{}}}
	first, err := tg.Tag(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ignored.log"), "2")
	if again, _ := tg.Tag(t.Context(), a); again != first {
		t.Error("a change to an ignored file changed the digest")
	}
	writeFile(t, filepath.Join(dir, "a.txt"), "b")
	if changed, _ := tg.Tag(t.Context(), a); changed == first {
		t.Error("a change to an input did not change the digest")
	}
}

func TestEnvTemplateMissingVariable(t *testing.T) {
	tg := &tag.Tagger{Policy: config.TagPolicy{EnvTemplate: &config.EnvTemplateTagger{Template: "{{.NOPE}}"}}, Env: map[string]string{}}
	if _, err := tg.Tag(t.Context(), &config.Artifact{ImageName: "app", Context: t.TempDir()}); err == nil {
		t.Fatal("no error for a missing variable")
	}
}

func TestName(t *testing.T) {
	tests := []struct{ image, repo, want string }{
		{"my-app", "", "my-app"},
		{"my-app", "127.0.0.1:5000", "127.0.0.1:5000/my-app"},
		{"my-app", "gcr.io/proj/", "gcr.io/proj/my-app"},
		{"gcr.io/proj/my-app", "gcr.io/proj", "gcr.io/proj/my-app"},
		{"gcr.io/k8s/app", "reg.example.com/team", "reg.example.com/team/gcr_io_k8s_app"},
		{"gcr.io/k8s/app", "gcr.io/mine", "gcr.io/mine/gcr.io/k8s/app"},
	}
	for _, tt := range tests {
		if got := tag.Name(tt.image, tt.repo); got != tt.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tt.image, tt.repo, got, tt.want)
		}
	}
}

// Outside a git repository, or in one without a commit, gitCommit falls back
// to the checksum of the inputs, and says so.
func TestGitCommitFallsBackToTheInputs(t *testing.T) {
	t.Setenv("GIT_CEILING_DIRECTORIES", os.TempDir())
	for _, repo := range []bool{false, true} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if repo {
			if out, err := exec.Command("git", "-C", dir, "init", "-q").CombinedOutput(); err != nil {
				t.Fatalf("git init: %v %s", err, out)
			}
		}
		a := &config.Artifact{ImageName: "app", Context: dir, Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"}}
		got, note, err := (&tag.Tagger{Policy: config.TagPolicy{GitCommit: &config.GitCommitTagger{Variant: "Tags"}}}).TagWithNote(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&tag.Tagger{Policy: config.TagPolicy{InputDigest: &config.InputDigestTagger{}}}).Tag(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		wantNote := "is not in a git repository"
		if repo {
			wantNote = "has no commit yet"
		}
		if got != want || !strings.Contains(note, wantNote) || !strings.Contains(note, "checksum of its inputs") {
			t.Errorf("in a repository: %v: tag %q, note %q; want the inputs' %q and a note that %s", repo, got, note, want, wantNote)
		}
	}
}
