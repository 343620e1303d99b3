// Package podnet is the pod network of one node: a Linux bridge, a veth pair and a network
// namespace per pod, addresses from the node's podCIDRs, masquerade for traffic that leaves
// the cluster, hostPorts, and the routes to other nodes' pods (a VXLAN overlay, or direct
// routes with host-gw). It does what CNI's bridge, host-local and portmap plugins and
// flannel's vxlan and host-gw backends do, in process, through netlink and nftables; it runs
// no command.
//
// The caller (the agent) uses it in this order:
//
//  1. New(cfg) with the node's name, podCIDRs, backend, node IP and a state directory under
//     the agent's data dir. New changes nothing on the host and keeps the IPAM and hostPort
//     records already in the state directory.
//  2. EnsureNode(ctx) at every start. It creates or adopts the bridge (named from the node
//     name: "skb" and 8 hex characters) with the gateway address of each podCIDR, sets the
//     sysctls forwarding needs, creates or adopts the VXLAN device ("skx" and 8 hex
//     characters; vxlan backend), and replaces the node's nftables table
//     (inet "skiff-podnet-" and 8 hex characters) in one transaction.
//  3. GC(ctx, live) once the pods that still run are known, before any new pod's Setup: it
//     releases the addresses, hostPorts and veths of pods that went away while the agent was
//     down.
//  4. Publish NodeAnnotations() on the node's Node object, and call SetPeers(ctx, peers) with
//     every Node (podCIDRs and annotations) at once and whenever one changes: it adds,
//     changes and removes the routes, neighbour entries and VXLAN forwarding entries to match
//     the whole set, removing stale ones.
//  5. Setup(ctx, podUID, netnsPath) for each pod sandbox, after the runtime has created and
//     pinned the pod's network namespace; its IPs go into the pod's status.podIPs. Setup is
//     idempotent, so a retried sandbox start is safe. Then SetHostPorts(ctx, podUID, mappings)
//     for a pod with hostPorts.
//  6. Teardown(ctx, podUID, netnsPath) when the sandbox goes, before or after its namespace
//     is gone. It removes the pod's hostPorts too, and is idempotent.
//
// The decisions are plain functions with table tests: which address to hand out next
// (nextFree, over an ipRange), which nftables rules the node needs (buildTable, whose
// description is checked against golden files), and which routes, neighbour entries and
// forwarding entries reach the peers (planOverlay, and diffByKey against what the kernel
// holds). The rest applies them to the kernel.
//
// IPAM keeps one file per allocated address in the state directory, named by the address
// and holding the pod's UID, created with O_EXCL so that no address is handed out twice even
// by two processes; a file last_reserved_ip.<cidr> per podCIDR records where the
// round-robin search resumes.
//
// Everything this package creates on the host is named from the node name (and, for veths,
// the pod UID), so that several agents can share a kernel, each in its own network
// namespace or even in one.
package podnet
