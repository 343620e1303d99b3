// Package serviceaccount holds the controllers that give every namespace what its pods'
// service account tokens need, as upstream's kube-controller-manager does:
//
//   - the ServiceAccount controller (ServiceAccounts) keeps a "default" ServiceAccount in every
//     active namespace, recreating it if it is deleted;
//   - the root CA publisher (RootCAPublisher) keeps the kube-root-ca.crt ConfigMap, whose
//     ca.crt key holds the cluster CA bundle, in every active namespace, and puts it back if
//     it is changed or deleted.
//
// Both are work queues of namespace names. The decisions (DefaultAccountNeeded, RootCAConfigMap)
// are plain functions; sync only reads the informer caches and writes what they decide.
// Namespaces being deleted are left alone.
package serviceaccount
