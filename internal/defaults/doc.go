// Package defaults reproduces what kube-apiserver v1.37 fills in on the objects it stores,
// so that objects stored by skiff equal upstream's field for field and `kubectl diff` and
// `kubectl apply` stay quiet.
//
// Upstream fills fields in three places, and this package keeps them apart:
//
//   - Scheme defaulting (AddToScheme). Pure functions of the object, registered per Go type
//     in a runtime.Scheme and run on every decode: create, update, patch, dry-run and reads
//     from storage. Upstream writes them by hand in pkg/apis/<group>/<version>/defaults.go
//     (SetDefaults_X) and generates the traversal that calls them on every nested struct, plus
//     the declarative +default= markers of k8s.io/api's types, into zz_generated.defaults.go.
//     Here each kind has one hand-written function that applies both, in upstream's order.
//     Defaulting is idempotent.
//   - Registry strategy (strategy.go, PrepareForCreate<Kind>). Create-time mutations that
//     depend on the request rather than the object alone: status reset, metadata.generation,
//     the Pod's phase and QoS class, a Job's generated selector, the Namespace finalizer, the
//     Service's IP families. Upstream has them in pkg/registry/<group>/<resource>/strategy.go
//     and, for Services, pkg/registry/core/service/storage/alloc.go.
//   - Admission (admission.go). Default-on mutating admission plugins; only
//     DefaultTolerationSeconds is implemented (PodTolerations).
//
// Which upstream file each file follows:
//
//	core.go, podspec.go     pkg/apis/core/v1/defaults.go (+ markers in k8s.io/api/core/v1)
//	image.go                pkg/util/parsers.ParseImageName (docker reference grammar)
//	apps.go                 pkg/apis/apps/v1/defaults.go
//	batch.go                pkg/apis/batch/v1/defaults.go
//	autoscaling.go          pkg/apis/autoscaling/v1/defaults.go, pkg/apis/autoscaling/v2/defaults.go
//	networking.go           pkg/apis/networking/v1/defaults.go
//	discovery.go            pkg/apis/discovery/v1/defaults.go
//	rbac.go                 pkg/apis/rbac/v1/defaults.go
//	storage.go              pkg/apis/storage/v1/defaults.go
//	scheduling.go           pkg/apis/scheduling/v1/defaults.go
//	resource.go             pkg/apis/resource/v1/defaults.go (a taint's timeAdded from the clock
//	                        given to AddToSchemeWithClock)
//	resourcestrategy.go     pkg/registry/resource/*/strategy.go, pkg/api/resourceclaimspec
//	admissionregistration.go pkg/apis/admissionregistration/v1/defaults.go
//	apiextensions.go        k8s.io/apiextensions-apiserver pkg/apis/apiextensions/v1/defaults.go
//	qos.go                  pkg/apis/core/helper/qos (used by the Pod strategy)
//	strategy.go             pkg/registry/*/strategy.go, pkg/registry/core/service/storage/alloc.go
//	admission.go            plugin/pkg/admission/defaulttolerationseconds
//
// The certificates, coordination, events, node and policy groups, and the Event,
// ServiceAccount, ControllerRevision, Ingress, ServiceCIDR, IPAddress, Role, ClusterRole,
// CSINode, CSIStorageCapacity and DeviceClass kinds have no upstream scheme defaults; they
// are registered with a function that changes nothing.
//
// Feature gates are frozen at their v1.37 defaults, so gated defaults are applied
// unconditionally: PodLevelResources (pod-level requests and hugepage limits), ImageVolume
// (image volume pull policy), MaxUnavailableStatefulSet (rollingUpdate.maxUnavailable 1),
// StatefulSetAutoDeletePVC, JobPodReplacementPolicy and SELinuxMountReadWriteOncePod are all
// on. PodLogsQuerySplitStreams only defaults PodLogOptions, which is not a stored kind.
//
// Not covered here: conversion-time behaviour (a Secret's stringData is merged into data by
// upstream's v1-to-internal conversion, see MergeSecretStringData), metadata system fields
// (uid, creationTimestamp, generateName), and field allocation (cluster IPs, node ports).
package defaults
