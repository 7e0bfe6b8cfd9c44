// Package registry reads what a container registry says about an image,
// with go-containerregistry and the user's docker credentials.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/hoist-dev/hoist/internal/fault"
)

// Insecure are registries (host[:port]) reached over plain HTTP, as
// build.insecureRegistries lists them; loopback ones always are.
type Insecure []string

func (in Insecure) options(ref string) []name.Option {
	for _, r := range in {
		if strings.HasPrefix(ref, strings.TrimSuffix(r, "/")+"/") {
			return []name.Option{name.Insecure}
		}
	}
	return nil
}

// Digest returns the manifest digest the registry holds for ref.
func (in Insecure) Digest(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref, in.options(ref)...)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusMethodNotAllowed {
			var d *remote.Descriptor
			if d, err = remote.Get(r, opts...); err == nil {
				return d.Digest.String(), nil
			}
		}
		return "", classify(err, ref)
	}
	return desc.Digest.String(), nil
}

// classify turns a registry error into a coded fault.
func classify(err error, ref string) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusNotFound:
			return fault.Wrap(err, fault.BuildImageNotFound,
				fmt.Sprintf("image %s is not in the registry", ref),
				"check that the build pushed $IMAGE, the exact reference hoist passed to it")
		case http.StatusUnauthorized, http.StatusForbidden:
			return fault.Wrap(err, fault.BuildRegistryRefused,
				fmt.Sprintf("the registry refused access to %s", ref),
				"log in with docker login, or check the registry's permissions")
		}
	}
	var nerr net.Error
	var oerr *net.OpError
	if errors.As(err, &oerr) || errors.As(err, &nerr) {
		return fault.Wrap(err, fault.BuildRegistryUnreachable,
			fmt.Sprintf("cannot reach the registry of %s", ref),
			"check that the registry runs and the address in the image name is right")
	}
	return fault.Wrap(err, fault.BuildRegistryRefused, fmt.Sprintf("reading %s from its registry", ref))
}

// Copy makes the image at src (a reference by digest) available as dst,
// mounting or copying its blobs, and returns dst's manifest digest.
func (in Insecure) Copy(ctx context.Context, src, dst string) (string, error) {
	s, err := name.ParseReference(src, in.options(src)...)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", src, err)
	}
	d, err := name.NewTag(dst, in.options(dst)...)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", dst, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	desc, err := remote.Get(s, opts...)
	if err != nil {
		return "", classify(err, src)
	}
	if s.Context().Name() == d.Context().Name() {
		err = remote.Tag(d, desc, opts...)
	} else {
		var img v1.Image
		if img, err = desc.Image(); err == nil {
			err = remote.Write(d, img, opts...)
		}
	}
	if err != nil {
		return "", classify(err, dst)
	}
	return desc.Digest.String(), nil
}
