// Package node is the node authorizer and the NodeRestriction admission check, as upstream's
// --authorization-mode=Node and --enable-admission-plugins=NodeRestriction.
//
// A node's credentials name it: user system:node:<name> in group system:nodes. The Authorizer
// lets such a user read only what its own pods need (the pods bound to it, the secrets,
// configmaps, persistent volume claims, volumes and resource claims they reference, tokens of
// their service accounts), read its own Node, write its own Node and Lease, its pods' status
// and events, and the ResourceSlices of its node;
// everything else in system:node's rules is granted as upstream grants it, and narrowed by
// NodeRestriction, which runs on writes: a node may only modify its own Node (not its taints,
// nor node-restriction.kubernetes.io/ labels or other kubernetes.io labels kubelets may not
// set), only mirror pods bound to itself, the status of pods bound to itself, its own Lease,
// and create or delete only ResourceSlices whose spec.nodeName is itself.
//
// Relationships are looked up on demand in the watch cache (pods are indexed by spec.nodeName),
// rather than kept in a graph as upstream does; a node runs at most a few hundred pods.
package node
