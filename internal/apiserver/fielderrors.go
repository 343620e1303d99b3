package apiserver

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func pathOf(p string) *field.Path {
	parts := strings.Split(p, ".")
	return field.NewPath(parts[0], parts[1:]...)
}

func fieldErrors(p string, value interface{}, msg string) field.ErrorList {
	return field.ErrorList{field.Invalid(pathOf(p), value, msg)}
}

func requiredError(p string) field.ErrorList {
	return field.ErrorList{field.Required(pathOf(p), "")}
}
