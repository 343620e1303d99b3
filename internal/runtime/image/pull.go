package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Pull fetches the image ref names from its registry (the manifest for this node's
// platform when ref names an index) and installs it: layers already in the store are not
// downloaded again, and every blob is verified against its digest. The registry is always
// asked, even when the image is present, so that the pod's credentials are checked (the
// kubelet calls Get first when the pull policy lets it). Concurrent Pulls of one reference
// with the same credentials share one download. Registries on loopback addresses are
// reached over plain HTTP, all others over HTTPS. Errors wrap ErrUnauthorized or
// ErrNotFound when the registry said so.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (Image, error) {
	r, err := parseReference(ref)
	if err != nil {
		return Image{}, err
	}
	creds, problems := credentialsFromSecrets(opts.Secrets)
	for _, p := range problems {
		s.log.Warn("imagePullSecret ignored", "image", ref, "error", p)
	}
	auths := credentialsFor(creds, r.Context())
	key := canonical(r) + "\x00" + authKey(auths)
	img, err := s.pulls.do(ctx, s.ctx, key, func(ctx context.Context) (Image, error) {
		return s.pull(ctx, r, auths)
	})
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

func (s *Store) pull(ctx context.Context, ref name.Reference, auths []authn.AuthConfig) (Image, error) {
	start := s.now()
	desc, err := s.resolve(ctx, ref, auths)
	if err != nil {
		return Image{}, err
	}
	img, err := desc.Image()
	if err != nil {
		return Image{}, classify(err)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return Image{}, classify(err)
	}
	m, err := img.Manifest()
	if err != nil {
		return Image{}, classify(err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return Image{}, classify(err)
	}
	if got := digestOf(rawConfig); got != m.Config.Digest.String() {
		return Image{}, fmt.Errorf("config %s: content does not match its digest (got %s): refused", m.Config.Digest, got)
	}
	src := imageSource{config: rawConfig, manifest: rawManifest}
	for _, l := range m.Layers {
		l := l
		src.layers = append(src.layers, layerSource{
			digest: l.Digest,
			open: func() (io.ReadCloser, error) {
				layer, err := img.LayerByDigest(l.Digest)
				if err != nil {
					return nil, classify(err)
				}
				rc, err := layer.Compressed()
				if err != nil {
					return nil, classify(err)
				}
				return rc, nil
			},
		})
	}
	var tags []string
	if _, ok := ref.(name.Tag); ok {
		tags = []string{canonical(ref)}
	}
	digests := []string{canonicalRepo(ref.Context()) + "@" + desc.Digest.String()}
	out, err := s.install(ctx, src, tags, digests)
	if err != nil {
		return Image{}, err
	}
	s.log.Info("image pulled", "image", canonical(ref), "id", out.ID, "size", out.Size, "duration", s.now().Sub(start))
	return out, nil
}

// resolve fetches the descriptor of ref, trying each login in turn while the registry
// refuses them, and anonymously when there are none.
func (s *Store) resolve(ctx context.Context, ref name.Reference, auths []authn.AuthConfig) (*remote.Descriptor, error) {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(s.transport),
		remote.WithPlatform(s.platform),
		remote.WithUserAgent("skiff"),
	}
	if len(auths) == 0 {
		desc, err := remote.Get(ref, append(opts, remote.WithAuth(authn.Anonymous))...)
		return desc, classify(err)
	}
	var err error
	for _, a := range auths {
		var desc *remote.Descriptor
		desc, err = remote.Get(ref, append(opts, remote.WithAuth(authn.FromConfig(a)))...)
		if err == nil {
			return desc, nil
		}
		if err = classify(err); !errors.Is(err, ErrUnauthorized) {
			return nil, err
		}
	}
	return nil, err
}

// classify wraps registry errors that a caller acts on in ErrUnauthorized or ErrNotFound.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return err
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	case http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return fmt.Errorf("%w: %w", ErrUnauthorized, err)
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	return err
}

// httpsUnlessLoopback refuses to send a request over plain HTTP to a host that is not on
// a loopback address: go-containerregistry would otherwise use HTTP for private (RFC 1918)
// addresses, and fall back to it after a failed HTTPS ping.
type httpsUnlessLoopback struct{ next http.RoundTripper }

func (t httpsUnlessLoopback) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Host) {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return t.next.RoundTrip(req)
}
