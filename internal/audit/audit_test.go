package audit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPolicyLevels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	_ = os.WriteFile(path, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-proxy"]
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["secrets", "pods/log"]
- level: Request
  verbs: ["create"]
  namespaces: ["prod"]
- level: Metadata
`), 0o600)
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		a    Attributes
		want string
	}{
		{Attributes{User: UserInfo{Username: "system:kube-proxy"}, Verb: "get", IsResource: true, Resource: "pods"}, LevelNone},
		{Attributes{Verb: "get", Path: "/healthz/etcd"}, LevelNone},
		{Attributes{Verb: "get", Path: "/metrics"}, LevelMetadata},
		{Attributes{Verb: "get", IsResource: true, Resource: "secrets"}, LevelRequestResponse},
		{Attributes{Verb: "get", IsResource: true, Resource: "pods", Subresource: "log"}, LevelRequestResponse},
		{Attributes{Verb: "create", IsResource: true, Resource: "pods", Namespace: "prod"}, LevelRequest},
		{Attributes{Verb: "create", IsResource: true, Resource: "pods", Namespace: "dev"}, LevelMetadata},
		{Attributes{Verb: "get", IsResource: true, Group: "apps", Resource: "secrets"}, LevelMetadata},
	}
	for _, c := range cases {
		got, omit := p.LevelFor(c.a)
		if got != c.want || len(omit) != 1 {
			t.Errorf("%+v: %s %v, want %s", c.a, got, omit, c.want)
		}
	}
	_ = os.WriteFile(path, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n"), 0o600)
	if _, err := LoadPolicy(path); err == nil {
		t.Fatal("unknown level accepted")
	}
}
