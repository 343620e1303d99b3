package kubelet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Upstream's token manager: a token is refreshed once 80% of its lifetime has passed, or
// when it is a day old, whichever comes first.
const (
	tokenMaxTTL          = 24 * time.Hour
	tokenRefreshFraction = 0.8
)

// tokenManager obtains service account tokens for pods' projected volumes through the
// TokenRequest API, bound to the pod, and caches them until they need refreshing.
type tokenManager struct {
	client kubernetes.Interface
	clock  clock.PassiveClock

	mu    sync.Mutex
	cache map[tokenKey]*authenticationv1.TokenRequest
}

// tokenKey identifies one token: who asks, for what audience, how long, bound to which pod.
type tokenKey struct {
	namespace, serviceAccount string
	audiences                 string
	expiration                int64
	podUID                    types.UID
}

func newTokenManager(client kubernetes.Interface, clk clock.PassiveClock) *tokenManager {
	return &tokenManager{client: client, clock: clk, cache: map[tokenKey]*authenticationv1.TokenRequest{}}
}

// token returns the token of source for pod and when it must be refreshed.
func (m *tokenManager) token(ctx context.Context, pod *corev1.Pod, source *corev1.ServiceAccountTokenProjection) (string, time.Time, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if source.ExpirationSeconds != nil {
		exp = *source.ExpirationSeconds
	}
	var auds []string
	if source.Audience != "" {
		auds = []string{source.Audience}
	}
	key := tokenKey{namespace: pod.Namespace, serviceAccount: sa, audiences: strings.Join(auds, ","), expiration: exp, podUID: pod.UID}
	now := m.clock.Now()
	m.mu.Lock()
	tr := m.cache[key]
	m.mu.Unlock()
	if tr != nil && now.Before(tokenRefreshAt(tr)) {
		return tr.Status.Token, tokenRefreshAt(tr), nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         auds,
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	out, err := m.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		if tr != nil && now.Before(tr.Status.ExpirationTimestamp.Time) {
			// Keep serving the old token while it is valid.
			return tr.Status.Token, now.Add(10 * time.Second), nil
		}
		return "", time.Time{}, fmt.Errorf("failed to fetch token: %w", err)
	}
	if out.Spec.ExpirationSeconds == nil {
		out.Spec.ExpirationSeconds = &exp
	}
	m.mu.Lock()
	m.cache[key] = out
	m.mu.Unlock()
	return out.Status.Token, tokenRefreshAt(out), nil
}

// tokenRefreshAt is when tr must be refreshed: once 80% of its lifetime has passed (counted
// back from its expiry by the lifetime asked for), or a day after it was issued.
func tokenRefreshAt(tr *authenticationv1.TokenRequest) time.Time {
	exp := tr.Status.ExpirationTimestamp.Time
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	iat := exp.Add(-ttl)
	at := iat.Add(time.Duration(float64(ttl) * tokenRefreshFraction))
	if maxAt := iat.Add(tokenMaxTTL); maxAt.Before(at) {
		at = maxAt
	}
	return at
}

// forget drops the tokens of a pod.
func (m *tokenManager) forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.cache {
		if k.podUID == uid {
			delete(m.cache, k)
		}
	}
}
