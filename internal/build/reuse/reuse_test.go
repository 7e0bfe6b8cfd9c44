package reuse_test

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/reuse"
)

// pushed pushes a random image as ref to an in-memory registry and returns
// its digest.
func pushed(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestReusePushedImage(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	digest := pushed(t, reg+"/app:v1")
	im := &reuse.Images{}

	if got, err := im.Remote(t.Context(), reg+"/app:v1"); err != nil || got != digest {
		t.Fatalf("Remote = %s, %v; want %s", got, err, digest)
	}
	prev := build.Result{ImageName: "app", Tag: reg + "/app:v1", Digest: digest, Pushed: true}
	tests := []struct{ name, ref string }{
		{"same reference", reg + "/app:v1"},
		{"new tag", reg + "/app:v2"},
		{"other repository", reg + "/copy/app:v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := im.Reuse(t.Context(), prev, tt.ref)
			if err != nil || !ok {
				t.Fatalf("Reuse = %v, %v, %v", got, ok, err)
			}
			if diff := cmp.Diff(build.Result{Tag: tt.ref, Digest: digest, Pushed: true}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if d, err := im.Remote(t.Context(), tt.ref); err != nil || d != digest {
				t.Errorf("the registry has %s as %s (%v), want %s", tt.ref, d, err, digest)
			}
		})
	}

	gone := prev
	gone.Digest = "sha256:" + strings.Repeat("0", 64)
	if got, ok, err := im.Reuse(t.Context(), gone, reg+"/app:v3"); err == nil || ok {
		t.Errorf("Reuse of a manifest the registry lacks = %v, %v, %v; want an error", got, ok, err)
	}
}
