// Package controller is the controller manager: it runs skiff's controllers (one package each
// under internal/controller/) inside the server, as kube-controller-manager does beside
// upstream's API server.
//
// Run builds one SharedInformerFactory, lets every enabled controller register the informers it
// needs on it, starts the factory and then the controllers, and stops them all when its context
// ends. With Options.LeaderElect it first campaigns for the Lease kube-system/kube-controller-manager
// (15 s lease, 10 s renew deadline, 2 s retry, as upstream): only the leader runs controllers.
// A leader that cannot renew within the renew deadline cancels its controllers, waits for them,
// and campaigns again with fresh informers, so two managers never act at once for longer than
// the in-flight requests of the one stepping down.
//
// Every controller has the same shape (see shared/STYLE.md): informer event handlers enqueue
// namespace/name keys on a rate-limited workqueue; workers call a level-based sync(key) that
// compares what is wanted with what is observed, deciding in plain functions that unit tests
// call directly; the writes are a thin layer at the end. Objects from informer caches are never
// modified in place. Controllers write with a client whose user agent names them, so their
// writes carry the field manager kube-controller-manager, and record Events with upstream's
// reasons and component names.
package controller
