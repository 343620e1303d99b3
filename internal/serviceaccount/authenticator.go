package serviceaccount

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// Getter reads the objects a token names. A missing object is an error that
// apierrors.IsNotFound recognises.
type Getter interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	Node(ctx context.Context, name string) (*corev1.Node, error)
}

// User is who a token authenticates.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// Authenticator verifies bound service account tokens.
type Authenticator struct {
	Issuer string
	Key    *ecdsa.PublicKey
	// Audiences are the API server's audiences; a token must name one of them.
	Audiences []string
	Objects   Getter
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ErrNotOurs reports a token this authenticator does not judge (not a JWT of its issuer).
var ErrNotOurs = errors.New("not a service account token of this issuer")

// Authenticate verifies token and returns its user. It returns ErrNotOurs for tokens of other
// kinds or issuers, and another error for a token of ours that is invalid.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (User, error) {
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	c, ours, err := parse(token, a.Key, a.Issuer, a.Audiences, now)
	if !ours {
		return User{}, ErrNotOurs
	}
	if err != nil {
		return User{}, err
	}
	return a.validate(ctx, c)
}

// validate checks that the objects c names exist with their UIDs, and returns the user.
func (a *Authenticator) validate(ctx context.Context, c *Claims) (User, error) {
	k := c.Kubernetes
	if k.Namespace == "" || k.ServiceAccount.Name == "" || k.ServiceAccount.UID == "" {
		return User{}, errors.New("token has no kubernetes.io claim naming its service account")
	}
	if c.Subject != UserName(k.Namespace, k.ServiceAccount.Name) {
		return User{}, fmt.Errorf("token subject %q does not match its service account %s/%s", c.Subject, k.Namespace, k.ServiceAccount.Name)
	}
	sa, err := a.Objects.ServiceAccount(ctx, k.Namespace, k.ServiceAccount.Name)
	if err := checkRef("service account", k.Namespace+"/"+k.ServiceAccount.Name, k.ServiceAccount.UID, uidOf(sa, err), err); err != nil {
		return User{}, err
	}
	u := User{
		Name:   UserName(k.Namespace, k.ServiceAccount.Name),
		UID:    string(k.ServiceAccount.UID),
		Groups: []string{AllGroup, GroupPrefix + k.Namespace, Authenticated},
		Extra:  map[string][]string{},
	}
	if c.ID != "" {
		u.Extra[ExtraCredentialID] = []string{"JTI=" + c.ID}
	}
	if k.Pod != nil {
		pod, err := a.Objects.Pod(ctx, k.Namespace, k.Pod.Name)
		if err := checkRef("pod", k.Namespace+"/"+k.Pod.Name, k.Pod.UID, uidOf(pod, err), err); err != nil {
			return User{}, err
		}
		u.Extra[ExtraPodName] = []string{k.Pod.Name}
		u.Extra[ExtraPodUID] = []string{string(k.Pod.UID)}
	}
	if k.Secret != nil {
		s, err := a.Objects.Secret(ctx, k.Namespace, k.Secret.Name)
		if err := checkRef("secret", k.Namespace+"/"+k.Secret.Name, k.Secret.UID, uidOf(s, err), err); err != nil {
			return User{}, err
		}
	}
	if k.Node != nil {
		// A pod's node is informational: the pod's check covers the binding.
		if k.Pod == nil {
			n, err := a.Objects.Node(ctx, k.Node.Name)
			if err := checkRef("node", k.Node.Name, k.Node.UID, uidOf(n, err), err); err != nil {
				return User{}, err
			}
		}
		u.Extra[ExtraNodeName] = []string{k.Node.Name}
		u.Extra[ExtraNodeUID] = []string{string(k.Node.UID)}
	}
	if len(u.Extra) == 0 {
		u.Extra = nil
	}
	return u, nil
}

type uider interface{ GetUID() types.UID }

func uidOf[T uider](o T, err error) types.UID {
	if err != nil {
		return ""
	}
	return o.GetUID()
}

// checkRef reports a bound object that is gone or was replaced (upstream's messages).
func checkRef(kind, name string, want, got types.UID, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %s has been deleted", kind, name)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, name, err)
	}
	if want != got {
		return fmt.Errorf("%s UID (%s) does not match claim (%s)", kind, got, want)
	}
	return nil
}
