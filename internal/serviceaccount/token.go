package serviceaccount

import (
	"crypto/ecdsa"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Upstream's names for service account users and groups.
const (
	UserPrefix    = "system:serviceaccount:"
	AllGroup      = "system:serviceaccounts"
	GroupPrefix   = "system:serviceaccounts:"
	Authenticated = "system:authenticated"
)

// Keys of the user extra a bound token adds, as upstream's.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

// Issuer returns the issuer of a cluster's tokens, https://kubernetes.default.svc.<domain>.
// It is also the API server's audience.
func IssuerURL(clusterDomain string) string {
	return "https://kubernetes.default.svc." + clusterDomain
}

// UserName is the user name of a service account.
func UserName(namespace, name string) string { return UserPrefix + namespace + ":" + name }

// Ref names an object a token is bound to.
type Ref struct {
	Name string    `json:"name,omitempty"`
	UID  types.UID `json:"uid,omitempty"`
}

// KubernetesClaim is the private "kubernetes.io" claim.
type KubernetesClaim struct {
	Namespace      string `json:"namespace,omitempty"`
	ServiceAccount Ref    `json:"serviceaccount,omitempty"`
	Pod            *Ref   `json:"pod,omitempty"`
	Secret         *Ref   `json:"secret,omitempty"`
	Node           *Ref   `json:"node,omitempty"`
}

// Claims are a token's claims.
type Claims struct {
	jwt.RegisteredClaims
	Kubernetes KubernetesClaim `json:"kubernetes.io"`
}

// Binding is what a token is bound to besides its ServiceAccount; all optional.
type Binding struct {
	Pod, Secret, Node *Ref
}

// Issuer signs tokens.
type Issuer struct {
	// Issuer is the iss claim (IssuerURL).
	Issuer string
	Key    *ecdsa.PrivateKey
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (i *Issuer) now() time.Time {
	if i.Now == nil {
		return time.Now()
	}
	return i.Now()
}

// Issue signs a token for sa, valid for audiences from now for lifetime. It returns the token
// and its expiry.
func (i *Issuer) Issue(sa *corev1.ServiceAccount, b Binding, audiences []string, lifetime time.Duration) (string, time.Time, error) {
	now := i.now().Truncate(time.Second)
	exp := now.Add(lifetime)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.Issuer,
			Subject:   UserName(sa.Namespace, sa.Name),
			Audience:  jwt.ClaimStrings(audiences),
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Kubernetes: KubernetesClaim{
			Namespace:      sa.Namespace,
			ServiceAccount: Ref{Name: sa.Name, UID: sa.UID},
			Pod:            b.Pod, Secret: b.Secret, Node: b.Node,
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = keyID(i.Key.Public())
	s, err := t.SignedString(i.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token for %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	return s, exp, nil
}

// parse verifies a token's signature, issuer, time and audience, and returns its claims. A
// token of another issuer gives ok false and no error: it is not ours to judge.
func parse(token string, key *ecdsa.PublicKey, issuer string, audiences []string, now time.Time) (c *Claims, ok bool, err error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil
	}
	unverified := &Claims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, unverified); err != nil || unverified.Issuer != issuer {
		return nil, false, nil
	}
	c = &Claims{}
	_, err = jwt.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		return nil, true, err
	}
	if !intersects(c.Audience, audiences) {
		return nil, true, fmt.Errorf("token audiences %q are invalid for the target audiences %q", []string(c.Audience), audiences)
	}
	return c, true, nil
}

func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
