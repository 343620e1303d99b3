// Package validation is the API server's validation of objects on create,
// update and status update, for every kind skiff serves.
//
// It reproduces upstream kube-apiserver's field.ErrorList for the same input:
// the same field paths, error types and message text, so that a 422 built from
// these errors reads exactly as upstream's. Upstream validates its internal
// types; this package validates the external k8s.io/api types that skiff
// stores, translating where the two differ (pointers, intstr, fields that the
// internal types keep elsewhere such as hostNetwork).
//
// The top-level ObjectMeta of an object is validated by the registry itself;
// this package validates everything beyond it, including the metadata of
// nested templates. Objects are expected to be defaulted, as upstream
// validates defaulted objects. Feature gates are taken at their v1.37
// defaults.
package validation
