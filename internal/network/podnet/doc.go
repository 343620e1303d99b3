// Package podnet is the pod network of one node: a Linux bridge, a veth pair and a network
// namespace per pod, addresses from the node's podCIDRs, and masquerade for traffic that
// leaves the cluster. It does what CNI's bridge and host-local plugins do, in process, through
// netlink and nftables; it runs no command.
//
// The caller (the agent) uses it in this order:
//
//  1. New(cfg) with the node's name, podCIDRs and a state directory under the agent's data
//     dir. New changes nothing on the host and keeps the IPAM records already in the state
//     directory.
//  2. EnsureNode(ctx) at every start. It creates or adopts the bridge (named from the node
//     name: "skb" and 8 hex characters) with the gateway address of each podCIDR, sets the
//     sysctls forwarding needs, and replaces the node's nftables table
//     (inet "skiff-podnet-" and 8 hex characters) in one transaction.
//  3. GC(ctx, live) once the pods that still run are known, before any new pod's Setup: it
//     releases the addresses and veths of pods that went away while the agent was down.
//  4. Setup(ctx, podUID, netnsPath) for each pod sandbox, after the runtime has created and
//     pinned the pod's network namespace; its IPs go into the pod's status.podIPs. Setup is
//     idempotent, so a retried sandbox start is safe.
//  5. Teardown(ctx, podUID, netnsPath) when the sandbox goes, before or after its namespace
//     is gone. It is idempotent too.
//
// The decisions are plain functions with table tests: which address to hand out next
// (nextFree, over an ipRange), and which nftables rules the node needs (buildTable, whose
// description is checked against golden files). The rest applies them to the kernel.
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
