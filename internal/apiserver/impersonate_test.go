package apiserver

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestImpersonate(t *testing.T) {
	s := testServer(t)
	var asked []string
	// The requestor may impersonate anything except the group system:masters.
	s.cfg.Authorizer = AuthorizerFunc(func(_ context.Context, a Attributes) (bool, string, error) {
		asked = append(asked, a.Verb+" "+a.APIGroup+"/"+a.Resource+"/"+a.Subresource+" "+a.Namespace+"/"+a.Name)
		return !(a.Resource == "groups" && a.Name == "system:masters"), "", nil
	})
	carol := User{Name: "carol", Groups: []string{"system:authenticated"}}
	tests := []struct {
		name    string
		headers map[string][]string
		want    *User
		asks    []string
		wantErr string
	}{
		{"none", nil, nil, nil, ""},
		{"user", map[string][]string{"Impersonate-User": {"alice"}}, &User{Name: "alice", Groups: []string{"system:authenticated"}},
			[]string{"impersonate /users/ /alice"}, ""},
		{"user, groups, extra, uid", map[string][]string{"Impersonate-User": {"alice"}, "Impersonate-Group": {"dev", "ops"},
			"Impersonate-Extra-Scopes": {"a", "b"}, "Impersonate-Uid": {"42"}},
			&User{Name: "alice", UID: "42", Groups: []string{"dev", "ops", "system:authenticated"}, Extra: map[string][]string{"scopes": {"a", "b"}}},
			[]string{"impersonate /users/ /alice", "impersonate /groups/ /dev", "impersonate /groups/ /ops",
				"impersonate authentication.k8s.io/userextras/scopes /a", "impersonate authentication.k8s.io/userextras/scopes /b", "impersonate authentication.k8s.io/uids/ /42"}, ""},
		{"service account", map[string][]string{"Impersonate-User": {"system:serviceaccount:ns:builder"}},
			&User{Name: "system:serviceaccount:ns:builder", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"}},
			[]string{"impersonate /serviceaccounts/ ns/builder"}, ""},
		{"refused group", map[string][]string{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:masters"}}, nil, nil,
			`groups "system:masters" is forbidden: User "carol" cannot impersonate resource "groups" in API group "" at the cluster scope`},
		{"group without user", map[string][]string{"Impersonate-Group": {"dev"}}, nil, nil, "without impersonating a user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked = nil
			r := httptest.NewRequest("GET", "/api/v1/pods", nil)
			for k, v := range tc.headers {
				for _, x := range v {
					r.Header.Add(k, x)
				}
			}
			got, err := s.impersonate(r, carol)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("user %+v, want %+v", got, tc.want)
			}
			if tc.asks != nil && !reflect.DeepEqual(asked, tc.asks) {
				t.Errorf("asked\n%q\nwant\n%q", asked, tc.asks)
			}
			if r.Header.Get("Impersonate-User") != "" {
				t.Error("impersonation headers left on the request")
			}
		})
	}
}
