package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/fault"
)

func TestArtifactsRoundTrip(t *testing.T) {
	built := []build.Result{
		{ImageName: "app", Tag: "127.0.0.1:5000/app:v1", Digest: "sha256:aaa", Pushed: true},
		{ImageName: "worker", Tag: "worker:v1", Digest: "sha256:bbb"},
	}
	path := filepath.Join(t.TempDir(), "out", "artifacts.json")
	if err := build.WriteArtifacts(path, built); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantFile := `{
  "builds": [
    {
      "imageName": "app",
      "tag": "127.0.0.1:5000/app:v1@sha256:aaa"
    },
    {
      "imageName": "worker",
      "tag": "worker:v1"
    }
  ]
}
`
	if diff := cmp.Diff(wantFile, string(data)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	got, err := build.ReadArtifacts(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A local image id is not part of the file: the deploy uses its tag.
	want := []build.Result{built[0], {ImageName: "worker", Tag: "worker:v1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

func TestWriteArtifactsOfNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "artifacts.json")
	if err := build.WriteArtifacts(path, nil); err != nil {
		t.Fatal(err)
	}
	got, err := build.ReadArtifacts(path, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("ReadArtifacts = %v, %v; want none", got, err)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), `"builds": []`) {
		t.Errorf("file = %s, want an empty builds list", data)
	}
}

func TestReadArtifactsImages(t *testing.T) {
	tests := []struct {
		name   string
		images []string
		want   []build.Result
	}{
		{"name=reference", []string{"app=127.0.0.1:5000/team/app:v2"},
			[]build.Result{{ImageName: "app", Tag: "127.0.0.1:5000/team/app:v2"}}},
		{"reference only names by repository", []string{"127.0.0.1:5000/team/app:v2"},
			[]build.Result{{ImageName: "127.0.0.1:5000/team/app", Tag: "127.0.0.1:5000/team/app:v2"}}},
		{"digest means pushed", []string{"app=reg/app:v1@sha256:ccc", "reg/other@sha256:ddd"},
			[]build.Result{
				{ImageName: "app", Tag: "reg/app:v1", Digest: "sha256:ccc", Pushed: true},
				{ImageName: "reg/other", Tag: "reg/other", Digest: "sha256:ddd", Pushed: true},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := build.ReadArtifacts("", tt.images)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadArtifactsFileThenImages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "artifacts.json")
	if err := os.WriteFile(path, []byte(`{"builds":[{"imageName":"app","tag":"reg/app:v1"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := build.ReadArtifacts(path, []string{"db=reg/db:v3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []build.Result{{ImageName: "app", Tag: "reg/app:v1"}, {ImageName: "db", Tag: "reg/db:v3"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadArtifactsInvalid(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	notJSON := write("not-json.json", "builds: [app]\n")
	noTag := write("no-tag.json", `{"builds":[{"imageName":"app","tag":"reg/app:v1"},{"imageName":"db"}]}`)
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name   string
		file   string
		images []string
		// message lists what the error's message must name.
		message []string
	}{
		{"missing file", missing, nil, []string{"reading the build artifacts file", missing}},
		{"not JSON", notJSON, nil, []string{notJSON + " is not a build artifacts file"}},
		{"entry without a tag", noTag, nil, []string{noTag + ": build 2", `imageName "db"`}},
		{"image without a name", "", []string{"=reg/app:v1"}, []string{`--images "=reg/app:v1"`}},
		{"image without a reference", "", []string{"app="}, []string{`--images "app="`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build.ReadArtifacts(tt.file, tt.images)
			if code := fault.CodeOf(err); code != fault.DeployArtifactsInvalid {
				t.Fatalf("code = %s (%v), want %s", code, err, fault.DeployArtifactsInvalid)
			}
			for _, m := range tt.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %q", err, m)
				}
			}
			if len(fault.As(err).Suggestions) == 0 {
				t.Error("no suggestion")
			}
		})
	}
}
