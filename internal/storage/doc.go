// Package storage keeps API objects in etcd and serves reads and watches from memory.
//
// One Feed watches etcd's whole /registry/ prefix on one stream and applies every change, in
// revision order, to the Cache of the resource whose key prefix it falls under. Because a
// single stream carries every resource, the Feed's revision is one number: when it reaches R,
// every cache reflects etcd as of R. That makes the Kubernetes resourceVersion semantics cheap:
//
//   - a consistent read (resourceVersion "") asks etcd for its current revision R, then waits
//     until the Feed has reached R (requesting a progress notification if etcd is idle), and
//     serves from memory; if the Feed cannot catch up within a few seconds it reads etcd at R;
//   - resourceVersion "0" serves whatever the cache holds;
//   - NotOlderThan N waits until the Feed reaches N; Exact N and continuation pages read etcd at
//     revision N, which gives every page of one LIST the same snapshot, and 410 Expired once
//     etcd has compacted N away.
//
// A Store is the per-resource entry point the registry uses: writes go to etcd with
// compare-and-swap on the key's mod revision (resourceVersion = etcd mod revision), reads and
// watches come from the Cache. Objects handed out by a Store are shared with the cache and with
// other readers: callers must deep-copy before changing them.
package storage
