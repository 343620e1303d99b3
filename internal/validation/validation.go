// Package validation is a placeholder until the validation package lands.
package validation

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate returns no errors yet.
func ValidateCreate(obj runtime.Object) field.ErrorList { return nil }

// ValidateUpdate returns no errors yet.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList { return nil }
