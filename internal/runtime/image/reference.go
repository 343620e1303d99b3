package image

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the name the store shows for Docker Hub, as the CRI and crictl do.
const dockerHub = "docker.io"

// parseReference parses an image reference the way a pod names it ("busybox",
// "busybox:1.36", "registry:5000/team/app@sha256:...") and returns it with the transport
// scheme decided: plain HTTP for registries on a loopback address, HTTPS for all others.
func parseReference(s string) (name.Reference, error) {
	if s == "" {
		return nil, fmt.Errorf("empty image reference")
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", s, err)
	}
	if isLoopback(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(s, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("image reference %q: %w", s, err)
		}
	}
	return ref, nil
}

// canonicalRepo is the repository of ref in the form the store records:
// "docker.io/library/busybox", "127.0.0.1:5000/skiffhost".
func canonicalRepo(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + repo.RepositoryStr()
}

// canonical is ref in the form the store records and matches on:
// "docker.io/library/busybox:latest" or "docker.io/library/busybox@sha256:...".
func canonical(ref name.Reference) string {
	repo := canonicalRepo(ref.Context())
	if d, ok := ref.(name.Digest); ok {
		return repo + "@" + d.DigestStr()
	}
	return repo + ":" + ref.Identifier()
}

// normalize returns the canonical form of the reference s, or "" if s does not parse.
func normalize(s string) string {
	ref, err := name.ParseReference(s)
	if err != nil {
		return ""
	}
	return canonical(ref)
}

// splitRepoTag splits "docker.io/library/busybox:latest" into repository and tag.
func splitRepoTag(tag string) (repo, t string) {
	i := strings.LastIndex(tag, ":")
	if i < 0 || strings.Contains(tag[i:], "/") {
		return tag, ""
	}
	return tag[:i], tag[i+1:]
}

// isLoopback reports whether the registry host (with an optional port) is on a loopback
// address: localhost, 127.0.0.0/8 or ::1.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
