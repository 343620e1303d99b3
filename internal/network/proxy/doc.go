// Package proxy is the service proxy of one node, kube-proxy's job in its nftables mode:
// it programs one nftables table (family inet, "skiff-proxy-" and 8 hex characters of a hash
// of the node name) from the cluster's Services and EndpointSlices, so that traffic to a
// ClusterIP, a NodePort on a node address, an externalIP or a load-balancer ingress IP is
// translated to one of the Service's endpoints. It runs no command: the rules go to the
// kernel through netlink (github.com/google/nftables), one transaction per sync.
//
// The caller (the agent) uses it in this order:
//
//  1. Make shared informers for Services (core/v1) and EndpointSlices (discovery/v1) over
//     the whole cluster, and call New(cfg, services, slices) with the node's name, addresses,
//     cluster and service CIDRs and, for the node-local DNS, the DNS Service IP and the
//     node's DNS listener. New adds event handlers and changes nothing in the kernel.
//  2. Start the informers, and run Run(ctx) in a goroutine. Run sets the sysctls the data
//     path needs (forwarding, bridge-nf-call-iptables), waits for the informers, syncs, and
//     then syncs again after every change, batching changes within MinSyncPeriod, until ctx
//     ends. Synced() is closed after the first successful sync: wait for it before starting
//     pods whose traffic goes to Services.
//  3. On exit nothing is deleted: packets keep flowing through the last rules while the
//     agent restarts, and the next agent's first sync rewrites the table. Cleanup(nodeName)
//     removes the table when the node leaves for good.
//
// The decisions are plain functions with tests: which rules a Service with its endpoints
// needs (buildService, from servicePorts and endpointsFor), how contested map keys are
// resolved (resolveClaims), what the whole table is (assemble; its String is checked against
// golden files in testdata), and what a sync must change in the kernel (planFull and
// planIncremental, then staleFlows for UDP conntrack entries). applyPlan and the Proxier's
// sync loop are the edges.
//
// The table follows kube-proxy's nftables layout (see docs/services.md for a walk-through):
// verdict maps from destination to per-service chains (service-ips-v4, service-nodeports-v4);
// per-service chains that pick an endpoint with numgen random; per-endpoint chains that DNAT;
// no-endpoint maps that reject (or drop, when a traffic policy of Local leaves none) before
// translation; a mark and a masquerade chain for traffic that would not come back through
// this node otherwise. A sync after a change rewrites only the chains of the Services that
// changed and the map elements that differ; the first sync, the one after a failure and one
// every SyncPeriod rewrite everything and delete what the table holds that is not wanted.
package proxy
