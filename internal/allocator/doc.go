// Package allocator hands out Service cluster IPs and node ports and records them in etcd, so
// that no address or port is ever given twice, even with several API servers.
//
// Cluster IPs are recorded as networking.k8s.io/v1 IPAddress objects named by the address,
// created with create-if-absent: the create is the allocation. Node ports are recorded, as
// upstream does, in one RangeAllocation bitmap at /registry/ranges/servicenodeports, changed
// with compare-and-swap.
package allocator
