// Package upstream compares skiff's API server with a real upstream kube-apiserver.
//
// hack/record-upstream.sh feeds the manifests under testdata/upstream/ to kube-apiserver v1.37
// and records what it answers: each valid manifest as created and read back
// (testdata/upstream/defaulted/), the Status of each invalid one (testdata/upstream/invalid/), and
// the Table of every kind (testdata/upstream/tables/). The test in this package replays the same
// requests against an in-process skiff and compares the answers, ignoring only what differs
// between any two servers: uids, resourceVersions, timestamps, managedFields, random name
// suffixes and the cells of time-valued table columns. What skiff does not do yet is listed in
// knownDifferences, one reason per entry.
package upstream
