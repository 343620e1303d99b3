// Package serviceaccount is the ServiceAccount admission plugin, as upstream's
// plugin/pkg/admission/serviceaccount: a pod created without a service account runs as its
// namespace's "default" one; the account must exist; unless automounting is off (on the pod,
// else on the account), every container and init container mounts the projected
// kube-api-access-<random> volume (a bound token, the cluster CA and the namespace) at
// /var/run/secrets/kubernetes.io/serviceaccount; a pod without imagePullSecrets gets the
// account's.
//
// The "default" account of a new namespace is created asynchronously by the ServiceAccount
// controller, so a pod created right after its namespace may find none: the plugin waits up to
// DefaultWait for it to appear, as upstream's plugin retries its live lookup.
package serviceaccount

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
)

// Upstream's names.
const (
	// DefaultServiceAccountName is the account a pod runs as when it names none.
	DefaultServiceAccountName = "default"
	// VolumeNamePrefix starts the name of the projected token volume.
	VolumeNamePrefix = "kube-api-access-"
	// MountPath is where every container finds the token, CA and namespace.
	MountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// RootCAConfigMap is the ConfigMap, in every namespace, that holds the cluster CA.
	RootCAConfigMap = "kube-root-ca.crt"
	// TokenExpirationSeconds is the projected token's lifetime (upstream's 1 h + 7 s, which
	// tells the API server a kubelet refreshes it).
	TokenExpirationSeconds = 3607

	mirrorPodAnnotation = "kubernetes.io/config.mirror"
)

// Lookup reads a ServiceAccount; a missing one is an error apierrors.IsNotFound recognises.
type Lookup func(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)

// Plugin is the ServiceAccount admission plugin.
type Plugin struct {
	Accounts Lookup
	// DefaultWait is how long a pod waits for its namespace's missing "default" account.
	DefaultWait time.Duration
	// AllowMissingDefault admits pods of a namespace that has no "default" account, as if it
	// had one with no settings: for servers that run no ServiceAccount controller to create it.
	AllowMissingDefault bool
	// Suffix returns the 5 random characters of a volume name (default: upstream's alphabet).
	Suffix func() string
	// After is the clock the wait uses (default time.After).
	After func(time.Duration) <-chan time.Time
}

var _ registry.Admission = (*Plugin)(nil)

// Admit defaults the service account of a pod being created and mounts its token.
func (p *Plugin) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	pod, ok := podCreate(a)
	if !ok {
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	sa, err := p.account(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if apierrors.IsNotFound(err) {
		// Upstream's message names the resource in the singular.
		err = apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, pod.Spec.ServiceAccountName)
	}
	if err != nil {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	Apply(pod, sa, p.suffix)
	return nil
}

// Validate does nothing: Admit refuses pods whose account does not exist.
func (p *Plugin) Validate(context.Context, *registry.AdmissionAttributes) error { return nil }

// podCreate returns the pod a non-mirror pod creation writes.
func podCreate(a *registry.AdmissionAttributes) (*corev1.Pod, bool) {
	if a.Operation != registry.OperationCreate || a.Subresource != "" || a.Resource == nil || a.Resource.GroupResource().String() != "pods" {
		return nil, false
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil, false
	}
	if _, mirror := pod.Annotations[mirrorPodAnnotation]; mirror {
		return nil, false
	}
	return pod, true
}

// account finds the pod's account, waiting for a missing "default" one.
func (p *Plugin) account(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	sa, err := p.Accounts(ctx, namespace, name)
	if !apierrors.IsNotFound(err) || name != DefaultServiceAccountName {
		return sa, err
	}
	if p.AllowMissingDefault {
		return &corev1.ServiceAccount{}, nil
	}
	after := p.After
	if after == nil {
		after = time.After
	}
	deadline := after(p.DefaultWait)
	for {
		select {
		case <-ctx.Done():
			return nil, err
		case <-deadline:
			return nil, err
		case <-after(100 * time.Millisecond):
		}
		sa, err = p.Accounts(ctx, namespace, name)
		if !apierrors.IsNotFound(err) {
			return sa, err
		}
	}
}

func (p *Plugin) suffix() string {
	if p.Suffix != nil {
		return p.Suffix()
	}
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// Apply gives pod what its account sa provides: the token volume and its mounts unless
// automounting is off, and sa's imagePullSecrets if pod has none. suffix names a new volume.
func Apply(pod *corev1.Pod, sa *corev1.ServiceAccount, suffix func() string) {
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	if ShouldAutomount(pod, sa) {
		mountToken(pod, suffix)
	}
}

// ShouldAutomount tells whether pod gets a token: the pod's setting wins, then the account's;
// the default is yes.
func ShouldAutomount(pod *corev1.Pod, sa *corev1.ServiceAccount) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountToken mounts the token volume in every container and init container that has nothing
// at MountPath yet, adding the volume (reusing an existing kube-api-access-* one) if needed.
func mountToken(pod *corev1.Pod, suffix func() string) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, VolumeNamePrefix) {
			name = v.Name
			break
		}
	}
	hasVolume := name != ""
	if !hasVolume {
		name = VolumeNamePrefix + suffix()
	}
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: MountPath}
	needed := false
	add := func(cs []corev1.Container) {
		for i := range cs {
			if !hasMountAt(cs[i].VolumeMounts, MountPath) {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	if needed && !hasVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}})
	}
}

func hasMountAt(ms []corev1.VolumeMount, path string) bool {
	for _, m := range ms {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// TokenVolumeSource is the projected volume of a pod's token, CA bundle and namespace.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	exp := int64(TokenExpirationSeconds)
	mode := int32(0o644)
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &exp, Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}},
			}}},
		},
	}
}
