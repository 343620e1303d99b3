// Package dns is the cluster DNS server that every node agent runs: it answers for the
// cluster domain from the cluster's Services and EndpointSlices, as CoreDNS's kubernetes
// plugin does in a Kubernetes cluster (with "pods insecure"), and forwards everything else
// to the node's resolvers, caching their answers as CoreDNS's cache plugin does. It also
// forms pods' resolv.conf as the kubelet does (PodResolvConf).
//
// The caller (the agent) uses it in this order:
//
//  1. New(cfg) with the addresses to listen on (normally the pod bridge's gateway, port
//     53), the cluster domain, and the Services and EndpointSlices informers of its
//     SharedInformerFactory (all namespaces). New adds indexes to those informers and reads
//     the upstream resolvers from cfg.ResolvConf unless cfg.Upstreams names them. It opens
//     no socket.
//  2. Start the informer factory (before or after Run).
//  3. Run(ctx) in a goroutine. It listens on UDP and TCP at once, returning an error without
//     delay if it cannot, forwards names outside the cluster domain from then on, and
//     answers for the cluster domain once the informers have synced; Ready is closed then.
//     Run returns when ctx ends, after the sockets are closed.
//
// The names served, for cluster domain D (see docs/dns.md for the user's view):
//
//	svc.ns.svc.D                A/AAAA: the ClusterIPs; for a headless Service the ready
//	                            endpoints' addresses; for an ExternalName Service a CNAME
//	                            to its externalName, followed through the upstreams.
//	                            SRV: one per port (headless: per endpoint and port).
//	_port._proto.svc.ns.svc.D   SRV of the named port; A/AAAA as for the Service.
//	hostname.svc.ns.svc.D       A/AAAA of the endpoint with that hostname (a StatefulSet
//	                            pod), or named a-b-c-d after its address if it has none.
//	a-b-c-d.ns.pod.D            A (or AAAA, dashes for colons) of the address in the name.
//	reverse names               PTR of ClusterIPs (svc.ns.svc.D) and endpoint addresses
//	                            (hostname.svc.ns.svc.D); other reverse names are forwarded.
//	D                           SOA, NS (ns.dns.D); dns-version.D TXT "1.1.0".
//
// Every cluster record has a TTL of 5 seconds; a name with no record of the type asked
// gets NODATA, and a name that does not exist NXDOMAIN, both with D's SOA (minimum 5).
// Search paths are the client's business (ndots:5 in the resolv.conf PodResolvConf forms).
//
// The decisions are plain functions with table tests: which name a question is about
// (parseClusterName, parseReverse), what the cluster answers to it (zone.answer, over a
// read-only view of the informers' caches), what to cache and for how long (cacheTTL), and
// what a pod's resolv.conf says (PodResolvConf). Server.respond wraps them with the
// protocol's rules (malformed requests, classes, EDNS0, truncation); the sockets and the
// upstream exchanges are the thin edges around it.
package dns
