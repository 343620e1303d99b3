// Package cluster runs a multi-node skiff cluster on one machine for end-to-end tests: a real
// `skiff server` and real `skiff agent` processes, each agent in a network namespace of its
// own standing for a machine, all joined by a bridge standing for the network between them.
//
//	machine (the test's network namespace)
//	  skiff server --disable-agent   listens on 0.0.0.0:<port>; the kubeconfig says 127.0.0.1
//	  bridge skc<id>  172.30.N.1/24  (the server's address for the agents: ServerIP)
//	     |                    |
//	  skc<id>-a           skc<id>-b           host ends of the nodes' links (Partition sets
//	     |                    |                them down)
//	  +--eth0 172.30.N.11--+  +--eth0 172.30.N.12--+
//	  | node-a-<id>        |  | node-b-<id>        |   network namespaces pinned under
//	  | skiff agent        |  | skiff agent        |   Cluster.Dir/netns, default route via
//	  | bridge, vxlan, pods|  | bridge, vxlan, pods|   ServerIP
//	  +--------------------+  +--------------------+
//
// A test uses it like this (test/e2e/overlay_test.go has more):
//
//	imgs, err := cluster.TestImages(ctx)               // skiffhost and busybox, imported on every node
//	c := cluster.New(t, cluster.Options{Nodes: 2, Images: imgs, AgentArgs: []string{"--network-backend", "vxlan"}})
//	a, b := c.Nodes[0], c.Nodes[1]                      // Name, IP, NetNS, DataDir
//	c.Apply(manifest)                                   // or c.Client (client-go), c.MustKubectl(...)
//	c.MustKubectl("exec", "web", "--", "/skiffhost", "get", "http://"+b.IP+":30080/")
//	body, err := b.HTTPClient(3*time.Second).Get(...)   // from inside node b; a.Dial, a.Exec("ip", "route")
//	http.Get("http://" + b.IP + ":30080/")              // from the machine, whose address is c.ServerIP
//	c.KillAgent(b.Name); c.StartAgent(b.Name)           // or RestartAgent, StopAgent
//	c.Partition(b.Name); c.Heal(b.Name)                 // cut the node's link, and mend it
//	c.Eventually(20*time.Second, func() string { ... }) // "" when done, else what is still wrong
//
// New(t, Options) builds it and registers its removal with t.Cleanup: the agents, the server,
// the pods' shims and containers (found by their data dirs and cgroups), every mount under
// Cluster.Dir, the namespaces, the bridge and the files, whether the test passed or not. When
// a test fails, the tails of the server's and agents' logs are logged. New first removes what
// a killed earlier run left (a run's directory records its owner's PID; one whose owner is gone
// is a leftover), never another live run's.
//
// Everything is named from a random cluster ID (4 hex characters): node names
// node-a-<id>, node-b-<id>, ..., the bridge skc<id>, data dirs under
// /tmp/skiff-cluster/<id>. The subnet is the first 172.30.N.0/24 that no route of the test's
// namespace covers, so that runs in one namespace do not collide either (the cluster CIDRs
// 10.42/16 and 10.43/16 and the machine's 192.0.2.0/24 stay clear). The agents' names,
// cgroups (skiff-<node name>), bridges, VXLAN devices and nftables tables derive from their
// node names, so that several clusters share a kernel.
//
// It needs root (New skips the test otherwise) and kubectl on PATH. Run a test that uses it in
// a network and mount namespace of its own (test/e2e's isolate does so), so that nothing
// touches the machine's namespaces; it also works in the machine's own namespace, where it
// adds a bridge for the test's duration.
//
// Debugging a running cluster from the outside: `nsenter -t <agent pid> -n ip -d link`,
// `... bridge fdb show`, `... ip route`, `... nft list ruleset`; Node.Exec runs such commands
// from the test. Logs are in Cluster.Dir/server.log and Cluster.Dir/nodes/<letter>/agent.log.
package cluster
