package authn

import (
	"strings"
	"testing"

	"github.com/skiff-project/skiff/internal/apiserver"
)

func TestParseStaticTokens(t *testing.T) {
	in := "# comment\nabc,alice,1001,\"dev,ops\"\ndef,bob,1002\n"
	got, err := parseStaticTokens("tokens.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if a := got["abc"]; a.Name != "alice" || a.UID != "1001" || strings.Join(a.Groups, ",") != "dev,ops" {
		t.Errorf("alice: %+v", a)
	}
	if b := got["def"]; b.Name != "bob" || len(b.Groups) != 0 {
		t.Errorf("bob: %+v", b)
	}
	bad := []struct{ in, want string }{
		{"abc,alice\n", "tokens.csv, line 1: want at least 3 columns"},
		{"abc,alice,1\nabc,bob,2\n", "tokens.csv, line 2: duplicate token"},
		{",alice,1\n", "token and user name must not be empty"},
		{"abc,\"alice,1\n", "token file tokens.csv"},
	}
	for _, b := range bad {
		if _, err := parseStaticTokens("tokens.csv", strings.NewReader(b.in)); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: got %v, want %q", b.in, err, b.want)
		}
	}
}

func TestWithAuthenticated(t *testing.T) {
	u := withAuthenticated(apiserver.User{Name: "a", Groups: []string{"x"}})
	if strings.Join(u.Groups, ",") != "x,system:authenticated" {
		t.Errorf("groups %v", u.Groups)
	}
	if u = withAuthenticated(u); len(u.Groups) != 2 {
		t.Errorf("added twice: %v", u.Groups)
	}
}
