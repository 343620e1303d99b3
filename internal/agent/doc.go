// Package agent assembles a node: `skiff agent`, and the node `skiff server` runs on its own
// machine. Start does, in order, logging one line per step:
//
//  1. the data dir (0700) with pki/, images/, runtime/, network/, logs/ and pods/;
//  2. joining: the server's CA is found in its TLS handshake by the hash the join token
//     carries, then the node's client certificate (CN system:node:<name>) is loaded from pki/
//     or obtained through a CertificateSigningRequest made with the join token; a goroutine
//     renews it with the node's own identity once 80% of its lifetime has passed;
//  3. the image store and the Linux runtime, which re-adopts the sandboxes of an earlier agent
//     (their images are marked used again);
//  4. the kubelet (one kubelet.Kubelet on a kubelet.Host watching the node's pods, its Node and
//     every Service), which registers the Node and reports it NotReady until step 5;
//  5. the pod network, once node IPAM has given the Node its podCIDRs: EnsureNode, then GC of
//     the addresses of pods gone meanwhile, then the overlay (overlay.go): the node publishes
//     its network annotations on its Node, watches every Node and gives them to the pod
//     network as peers (routes to their podCIDRs), at once and on every change; the runtime's
//     network set-ups wait until then;
//  6. the serving certificate for port 10250 (kubelet-serving signer, the node's name and IP),
//     renewed at 80% too, and Config.Serve with it when set.
//
// Start returns once the node is ready; the agent stops when its context ends, leaving its
// pods' containers running for the next agent. Everything it makes on the host is named from
// the node name or lives in the data dir, so that several agents can share a kernel in
// separate network namespaces. docs/agent.md is the user's manual.
package agent
