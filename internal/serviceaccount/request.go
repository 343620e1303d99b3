package serviceaccount

import (
	"context"
	"fmt"
	"math"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Token lifetimes, as upstream's.
const (
	DefaultExpirationSeconds = 3600
	MinExpirationSeconds     = 600
)

// TokenRequests answers TokenRequests (serviceaccounts/<name>/token).
type TokenRequests struct {
	Issuer *Issuer
	// Audiences are the default audiences (the API server's).
	Audiences []string
	Objects   Getter
}

var tokenRequestKind = schema.GroupKind{Group: authenticationv1.GroupName, Kind: "TokenRequest"}

// Validate checks a TokenRequest's spec as upstream's validation does.
func Validate(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	if s := tr.Spec.ExpirationSeconds; s != nil {
		if *s < MinExpirationSeconds {
			errs = append(errs, field.Invalid(p, *s, "may not specify a duration less than 10 minutes"))
		}
		if *s > math.MaxUint32 {
			errs = append(errs, field.TooLong(p, *s, math.MaxUint32))
		}
	}
	if ref := tr.Spec.BoundObjectRef; ref != nil {
		rp := field.NewPath("spec", "boundObjectRef")
		switch ref.Kind {
		case "Pod", "Secret", "Node":
		default:
			errs = append(errs, field.NotSupported(rp.Child("kind"), ref.Kind, []string{"Pod", "Secret", "Node"}))
		}
		if ref.APIVersion != "" && ref.APIVersion != "v1" {
			errs = append(errs, field.NotSupported(rp.Child("apiVersion"), ref.APIVersion, []string{"v1"}))
		}
		if ref.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), ""))
		}
	}
	return errs
}

// Create issues the token tr asks for the ServiceAccount namespace/name, and returns tr with
// its status set.
func (t *TokenRequests) Create(ctx context.Context, namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	if tr.Name != "" && tr.Name != name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", tr.Name, name))
	}
	if errs := Validate(tr); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestKind, name, errs)
	}
	sa, err := t.Objects.ServiceAccount(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	out := tr.DeepCopy()
	out.TypeMeta = metav1.TypeMeta{APIVersion: authenticationv1.SchemeGroupVersion.String(), Kind: "TokenRequest"}
	out.Name, out.Namespace, out.UID = sa.Name, sa.Namespace, sa.UID
	if out.Spec.ExpirationSeconds == nil {
		s := int64(DefaultExpirationSeconds)
		out.Spec.ExpirationSeconds = &s
	}
	if len(out.Spec.Audiences) == 0 {
		out.Spec.Audiences = append([]string(nil), t.Audiences...)
	}
	b, err := t.binding(ctx, namespace, out.Spec.BoundObjectRef)
	if err != nil {
		return nil, err
	}
	token, exp, err := t.Issuer.Issue(sa, b, out.Spec.Audiences, time.Duration(*out.Spec.ExpirationSeconds)*time.Second)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp)}
	return out, nil
}

// binding resolves the bound object reference: the object must exist, with the UID given if
// one is. A pod binding also names the pod's node.
func (t *TokenRequests) binding(ctx context.Context, namespace string, ref *authenticationv1.BoundObjectReference) (Binding, error) {
	if ref == nil {
		return Binding{}, nil
	}
	var uid string
	var b Binding
	var nodeName string
	switch ref.Kind {
	case "Pod":
		pod, err := t.Objects.Pod(ctx, namespace, ref.Name)
		if err != nil {
			return b, err
		}
		uid, nodeName = string(pod.UID), pod.Spec.NodeName
		b.Pod = &Ref{Name: pod.Name, UID: pod.UID}
	case "Secret":
		s, err := t.Objects.Secret(ctx, namespace, ref.Name)
		if err != nil {
			return b, err
		}
		uid = string(s.UID)
		b.Secret = &Ref{Name: s.Name, UID: s.UID}
	case "Node":
		n, err := t.Objects.Node(ctx, ref.Name)
		if err != nil {
			return b, err
		}
		uid = string(n.UID)
		b.Node = &Ref{Name: n.Name, UID: n.UID}
	}
	if ref.UID != "" && string(ref.UID) != uid {
		return b, apierrors.NewConflict(schema.GroupResource{Resource: ref.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	if nodeName != "" {
		if n, err := t.Objects.Node(ctx, nodeName); err == nil {
			b.Node = &Ref{Name: n.Name, UID: n.UID}
		}
	}
	return b, nil
}
