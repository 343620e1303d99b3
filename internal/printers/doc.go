// Package printers renders API objects as server-side Tables (meta.k8s.io/v1
// Table) with the same columns and cells as kube-apiserver v1.37, so that
// kubectl get, which no longer has client-side printers, shows familiar output.
//
// Every printer produces the full ("wide") set of cells, as kube-apiserver
// does; columns with Priority 1 are the ones kubectl shows only with -o wide.
// Printers work on the external (versioned) types of k8s.io/api, translating
// where upstream prints internal types: pointer fields, defaulted fields and
// fields that conversion merges (for example Secret stringData) are handled
// as the internal conversion would.
//
// The printers are grouped one file per API group: core.go, apps.go,
// batch.go, and so on. For looks a printer up by group and kind; Default is
// the table for everything else; Printer.Table assembles a Table.
package printers
