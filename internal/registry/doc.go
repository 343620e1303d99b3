// Package registry is the table of served resources and the generic store that gives every
// one of them Kubernetes' write semantics.
//
// A Resource describes a kind: names, scope, discovery data, its etcd prefix, whether it has
// status and scale subresources, and its strategy (PrepareForCreate, PrepareForUpdate,
// validation, selectable fields, graceful deletion, TTL). BuiltinResources lists Kubernetes'
// built-in kinds; adding one is one Resource value.
//
// A Store serves one Resource. Create and Update run, in upstream's order: server-set metadata
// (uid, creationTimestamp, generateName, generation), scheme defaulting, managedFields
// tracking, mutating admission, the strategy, validation, validating admission, the resource's
// Hooks (service IP and port allocation), then a compare-and-swap write through
// internal/storage. Update takes a TransformFunc from the current object to the desired one,
// so PUT, every patch type and server-side apply share the same path, retried on conflict.
// Delete follows DeleteOptions: preconditions, grace periods, finalizers and propagation
// policies. A Store whose Resource has a StorageGVK converts to and from the stored version.
//
// Objects returned by a Store may be shared with the watch cache: callers must not change them.
package registry
