// Package conversion converts between the versions of a kind that skiff serves under one
// storage version: autoscaling/v1 HorizontalPodAutoscalers are stored as autoscaling/v2, and
// events.k8s.io/v1 Events as core/v1 Events, as upstream stores them. The functions are
// registered in the scheme, so scheme.Convert and the field manager can use them.
//
// Upstream converts through internal types; skiff has none, so each pair converts directly.
// What the older version cannot express is kept in annotations, as upstream does for HPAs
// (autoscaling.alpha.kubernetes.io/metrics, .../conditions, .../behavior), so a round trip
// through v1 loses nothing.
package conversion
