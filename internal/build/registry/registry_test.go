package registry

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestInsecure(t *testing.T) {
	in := Insecure{"registry.internal:5000", "other.example/"}
	for ref, want := range map[string]string{
		"registry.internal:5000/app:v1": "http",
		"other.example/team/app:v1":     "http",
		"registry.internal/app:v1":      "https",
		"gcr.io/p/app:v1":               "https",
	} {
		r, err := name.ParseReference(ref, in.options(ref)...)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Context().Registry.Scheme(); got != want {
			t.Errorf("%s: scheme %s, want %s", ref, got, want)
		}
	}
}
