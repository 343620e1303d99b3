package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
)

// Admission operations, as upstream names them.
const (
	OperationCreate  = "CREATE"
	OperationUpdate  = "UPDATE"
	OperationDelete  = "DELETE"
	OperationConnect = "CONNECT"
)

// AdmissionAttributes describe a write for admission control.
type AdmissionAttributes struct {
	Operation   string
	Resource    *Resource
	Subresource string
	Namespace   string
	Name        string
	// Object is the object being written (nil for DELETE); OldObject the stored one (nil
	// for CREATE). Mutating admission may change Object.
	Object, OldObject runtime.Object
	User              UserInfo
	DryRun            bool
}

// Admission is the chain of admission plugins every write passes: Admit (mutating) runs after
// defaulting and before the strategy and validation; Validate runs after validation, just
// before the object is stored. Either may refuse the write with an error.
type Admission interface {
	Admit(ctx context.Context, a *AdmissionAttributes) error
	Validate(ctx context.Context, a *AdmissionAttributes) error
}

// SetAdmission installs the admission chain on every store.
func (r *Registry) SetAdmission(a Admission) {
	for _, s := range r.stores {
		s.admission = a
	}
}

func (s *Store) admit(ctx context.Context, op, sub string, obj, old runtime.Object, namespace, name string, dryRun bool, mutate bool) (runtime.Object, error) {
	if s.admission == nil {
		return obj, nil
	}
	u, _ := UserFrom(ctx)
	a := &AdmissionAttributes{Operation: op, Resource: s.R, Subresource: sub, Namespace: namespace, Name: name,
		Object: obj, OldObject: old, User: u, DryRun: dryRun}
	if mutate {
		if err := s.admission.Admit(ctx, a); err != nil {
			return nil, err
		}
		return a.Object, nil
	}
	return a.Object, s.admission.Validate(ctx, a)
}
