package image

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

// credential is one registry login taken from an imagePullSecret.
type credential struct {
	// key is the registry key as the secret wrote it, normalised: host[:port][/path].
	host, port, path string
	auth             authn.AuthConfig
	source           string // "namespace/name" of the secret, for messages
}

// dockerConfigEntry is one entry of a docker config file's "auths".
type dockerConfigEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// credentialsFromSecrets reads the registry logins in secrets of type
// kubernetes.io/dockerconfigjson (key .dockerconfigjson) and kubernetes.io/dockercfg (key
// .dockercfg), as the kubelet does. Secrets of other types, and entries that do not parse,
// are returned as problems and otherwise ignored.
func credentialsFromSecrets(secrets []corev1.Secret) (creds []credential, problems []error) {
	for i := range secrets {
		sec := &secrets[i]
		src := sec.Namespace + "/" + sec.Name
		var entries map[string]dockerConfigEntry
		switch {
		case sec.Type == corev1.SecretTypeDockerConfigJson && len(sec.Data[corev1.DockerConfigJsonKey]) > 0:
			var file struct {
				Auths map[string]dockerConfigEntry `json:"auths"`
			}
			if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &file); err != nil {
				problems = append(problems, fmt.Errorf("imagePullSecret %s: %s: %w", src, corev1.DockerConfigJsonKey, err))
				continue
			}
			entries = file.Auths
		case sec.Type == corev1.SecretTypeDockercfg && len(sec.Data[corev1.DockerConfigKey]) > 0:
			if err := json.Unmarshal(sec.Data[corev1.DockerConfigKey], &entries); err != nil {
				problems = append(problems, fmt.Errorf("imagePullSecret %s: %s: %w", src, corev1.DockerConfigKey, err))
				continue
			}
		default:
			problems = append(problems, fmt.Errorf("imagePullSecret %s: type %q has no registry credentials", src, sec.Type))
			continue
		}
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := newCredential(k, entries[k], src)
			if err != nil {
				problems = append(problems, fmt.Errorf("imagePullSecret %s: registry %q: %w", src, k, err))
				continue
			}
			creds = append(creds, c)
		}
	}
	return creds, problems
}

func newCredential(key string, e dockerConfigEntry, source string) (credential, error) {
	value := key
	if !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
		value = "https://" + value
	}
	u, err := url.Parse(value)
	if err != nil || u.Host == "" {
		return credential{}, fmt.Errorf("not a registry host")
	}
	// Docker treats /v1/ and /v2/ as the bare host (https://index.docker.io/v1/).
	p := u.Path
	if strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v2/") {
		p = p[3:]
	}
	p = strings.Trim(p, "/")
	c := credential{host: strings.ToLower(u.Hostname()), port: u.Port(), path: p, source: source}
	if c.host == dockerHub || c.host == "registry-1.docker.io" {
		c.host = name.DefaultRegistry
	}
	c.auth = authn.AuthConfig{
		Username:      e.Username,
		Password:      e.Password,
		IdentityToken: e.IdentityToken,
		RegistryToken: e.RegistryToken,
	}
	if e.Auth != "" && c.auth.Username == "" && c.auth.Password == "" {
		raw, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return credential{}, fmt.Errorf("auth is not base64: %w", err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return credential{}, fmt.Errorf("auth is not user:password")
		}
		c.auth.Username, c.auth.Password = user, pass
	}
	return c, nil
}

// matches reports whether the credential applies to repo, with the kubelet's rules: the
// host matches label by label (a label may be a glob such as "*.example.com"), the ports
// are equal, and the credential's path, if any, is a prefix of the repository path.
func (c credential) matches(repo name.Repository) bool {
	reg := repo.RegistryStr()
	host, port := reg, ""
	if u, err := url.Parse("https://" + reg); err == nil {
		host, port = strings.ToLower(u.Hostname()), u.Port()
	}
	if port != c.port {
		return false
	}
	want, got := strings.Split(c.host, "."), strings.Split(host, ".")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if ok, err := path.Match(want[i], got[i]); err != nil || !ok {
			return false
		}
	}
	if c.path == "" {
		return true
	}
	rp := repo.RepositoryStr()
	return rp == c.path || strings.HasPrefix(rp, c.path+"/")
}

// credentialsFor returns the credentials that apply to repo, most specific (longest
// registry key) first, in secret order among equals.
func credentialsFor(creds []credential, repo name.Repository) []authn.AuthConfig {
	var m []credential
	for _, c := range creds {
		if c.matches(repo) {
			m = append(m, c)
		}
	}
	sort.SliceStable(m, func(i, j int) bool {
		return len(m[i].host)+len(m[i].path) > len(m[j].host)+len(m[j].path)
	})
	out := make([]authn.AuthConfig, len(m))
	for i := range m {
		out[i] = m[i].auth
	}
	return out
}

// authKey is a digest of a list of credentials, so that pulls with different logins never
// share one download (a pod without credentials must not see an image that another
// pod's credentials fetched).
func authKey(auths []authn.AuthConfig) string {
	if len(auths) == 0 {
		return "anonymous"
	}
	b, _ := json.Marshal(auths)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
