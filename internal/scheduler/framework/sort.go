package framework

import (
	"sort"
)

func sortStrings(s []string) { sort.Strings(s) }

func sortNodeInfos(l []*NodeInfo) {
	sort.Slice(l, func(i, j int) bool { return l[i].Node().Name < l[j].Node().Name })
}
