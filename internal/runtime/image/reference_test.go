package image

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                                 "docker.io/library/busybox:latest",
		"busybox:1.36":                            "docker.io/library/busybox:1.36",
		"docker.io/busybox":                       "docker.io/library/busybox:latest",
		"index.docker.io/library/busybox:1.36":    "docker.io/library/busybox:1.36",
		"team/app":                                "docker.io/team/app:latest",
		"127.0.0.1:5000/app":                      "127.0.0.1:5000/app:latest",
		"registry.k8s.io/pause:3.10":              "registry.k8s.io/pause:3.10",
		"localhost:5000/a/b@sha256:" + hex64('1'): "localhost:5000/a/b@sha256:" + hex64('1'),
		"UPPER": "",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestParseReferenceScheme(t *testing.T) {
	for ref, want := range map[string]string{
		"127.0.0.1:5000/app":   "http",
		"127.9.9.9:5000/app":   "http",
		"localhost:5000/app":   "http",
		"localhost/app":        "http",
		"[::1]:5000/app":       "http",
		"10.1.2.3:5000/app":    "https", // go-containerregistry alone would say http
		"192.168.1.1/app":      "https",
		"registry.example/app": "https",
		"busybox":              "https",
	} {
		r, err := parseReference(ref)
		if err != nil {
			t.Fatalf("parseReference(%q): %v", ref, err)
		}
		got := r.Context().Registry.Scheme()
		if got == "http" && !isLoopback(r.Context().RegistryStr()) {
			got = "https" // httpsUnlessLoopback upgrades it
		}
		if got != want {
			t.Errorf("%s: scheme %s, want %s", ref, got, want)
		}
	}
}

func TestHTTPSUnlessLoopback(t *testing.T) {
	var seen []string
	rt := httpsUnlessLoopback{roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.Scheme+"://"+r.URL.Host)
		return httptest.NewRecorder().Result(), nil
	})}
	for _, u := range []string{"http://10.0.0.1:5000/v2/", "http://127.0.0.1:5000/v2/", "https://example.com/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		rt.RoundTrip(req)
	}
	want := []string{"https://10.0.0.1:5000", "http://127.0.0.1:5000", "https://example.com"}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("request %d went to %s, want %s", i, seen[i], want[i])
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCredentialsFor(t *testing.T) {
	secret := func(typ corev1.SecretType, key, data string) corev1.Secret {
		s := corev1.Secret{Type: typ, Data: map[string][]byte{key: []byte(data)}}
		s.Namespace, s.Name = "ns", "s"
		return s
	}
	secrets := []corev1.Secret{
		secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{
			"https://index.docker.io/v1/": {"username":"hub","password":"p"},
			"registry.example.com": {"auth":"cm9vdDpwdw=="},
			"registry.example.com/team": {"username":"team","password":"p"},
			"*.mirror.example": {"username":"glob","password":"p"},
			"ports.example:5000": {"username":"port","password":"p"}}}`),
		secret(corev1.SecretTypeDockercfg, corev1.DockerConfigKey, `{"legacy.example":{"username":"legacy","password":"p"}}`),
		secret(corev1.SecretTypeOpaque, corev1.DockerConfigJsonKey, `{"auths":{"opaque.example":{"username":"x"}}}`),
		secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `not json`),
	}
	creds, problems := credentialsFromSecrets(secrets)
	if len(problems) != 2 {
		t.Errorf("problems = %v, want the Opaque secret and the bad JSON", problems)
	}
	for ref, want := range map[string][]string{
		"busybox":                            {"hub"},
		"docker.io/team/app":                 {"hub"},
		"registry.example.com/other/app":     {"root"},
		"registry.example.com/team/app":      {"team", "root"},
		"registry.example.com/teamster/app":  {"root"},
		"eu.mirror.example/app":              {"glob"},
		"a.eu.mirror.example/app":            nil,
		"ports.example:5000/app":             {"port"},
		"ports.example/app":                  nil,
		"legacy.example/app":                 {"legacy"},
		"opaque.example/app":                 nil,
		"registry.example.com:5000/team/app": nil,
	} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range credentialsFor(creds, r.Context()) {
			got = append(got, a.Username)
		}
		if len(got) != len(want) {
			t.Errorf("%s: logins %v, want %v", ref, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: logins %v, want %v", ref, got, want)
			}
		}
	}
	if authKey(nil) == authKey(credentialsFor(creds, name.MustParseReference("busybox").Context())) {
		t.Error("an anonymous pull and a logged-in pull share a key")
	}
}
