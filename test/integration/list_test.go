package integration

import (
	"fmt"
	"sort"
	"strconv"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func names(items []corev1.ConfigMap) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name+"@"+it.ResourceVersion+"="+it.Data["v"])
	}
	sort.Strings(out)
	return out
}

// TestPaginationIsOneSnapshot takes pages with 100 writes between them: every page comes from
// the snapshot of the first.
func TestPaginationIsOneSnapshot(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	for i := 0; i < 250; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i)}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := cms.List(ctx, metav1.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 100 || first.Continue == "" {
		t.Fatalf("first page: %d items, continue %q", len(first.Items), first.Continue)
	}
	snapshotRV := first.ResourceVersion
	all := first.Items
	cont := first.Continue
	for page := 0; cont != ""; page++ {
		// 100 writes between pages: updates, deletes and creates across the whole range.
		for i := 0; i < 100; i++ {
			name := fmt.Sprintf("cm-%03d", (i*7+page*31)%250)
			switch i % 3 {
			case 0:
				_, _ = cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": strconv.Itoa(page + 1)}}, metav1.UpdateOptions{})
			case 1:
				_ = cms.Delete(ctx, name, metav1.DeleteOptions{})
			default:
				_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("new-%d-%d", page, i)}}, metav1.CreateOptions{})
			}
		}
		next, err := cms.List(ctx, metav1.ListOptions{Limit: 100, Continue: cont})
		if err != nil {
			t.Fatal(err)
		}
		if next.ResourceVersion != snapshotRV {
			t.Fatalf("page %d at resourceVersion %s, first at %s", page, next.ResourceVersion, snapshotRV)
		}
		all = append(all, next.Items...)
		cont = next.Continue
	}
	exact, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: snapshotRV, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(all), names(exact.Items); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 250 {
		t.Fatalf("paged list differs from the snapshot: %d vs %d items", len(got), len(want))
	}
}

// TestListExactMatchesEtcd compares a LIST at an Exact resourceVersion with etcd at that
// revision, after later changes.
func TestListExactMatchesEtcd(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	for i := 0; i < 5; i++ {
		_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}, Data: map[string]string{"v": "old"}}, metav1.CreateOptions{})
	}
	before, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = cms.Delete(ctx, "c0", metav1.DeleteOptions{})
	_, _ = cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}, Data: map[string]string{"v": "new"}}, metav1.UpdateOptions{})
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c9"}}, metav1.CreateOptions{})

	exact, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: before.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(before.ResourceVersion, 10, 64)
	resp, err := shared.Etcd.Get(ctx, "/registry/configmaps/"+ns+"/", clientv3.WithPrefix(), clientv3.WithRev(rev))
	if err != nil {
		t.Fatal(err)
	}
	var etcdState []string
	for _, kv := range resp.Kvs {
		etcdState = append(etcdState, string(kv.Key)[len("/registry/configmaps/"+ns+"/"):]+"@"+strconv.FormatInt(kv.ModRevision, 10))
	}
	var listed []string
	for _, it := range exact.Items {
		listed = append(listed, it.Name+"@"+it.ResourceVersion)
	}
	if fmt.Sprint(listed) != fmt.Sprint(etcdState) || len(listed) != 5 {
		t.Fatalf("exact list %v, etcd at %d %v", listed, rev, etcdState)
	}
	if fmt.Sprint(names(exact.Items)) != fmt.Sprint(names(before.Items)) {
		t.Fatalf("exact list %v differs from the list it names %v", names(exact.Items), names(before.Items))
	}
	// After compaction that revision is gone: 410 Expired.
	if _, err := shared.Etcd.Compact(ctx, rev+1); err != nil {
		t.Fatal(err)
	}
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: before.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("list at a compacted revision: %v", err)
	}
}

func TestSelectors(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	pods := client().CoreV1().Pods(ns)
	mk := func(name, node string, labels map[string]string) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "img"}}}}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("a", "n1", map[string]string{"app": "web", "tier": "front"})
	mk("b", "n2", map[string]string{"app": "web", "tier": "back"})
	mk("c", "n1", map[string]string{"app": "db"})
	mk("d", "", nil)
	cases := []struct {
		label, field string
		want         string
	}{
		{"app=web", "", "[a b]"},
		{"app in (web,db),tier!=back", "", "[a c]"},
		{"!tier", "", "[c d]"},
		{"tier", "", "[a b]"},
		{"app notin (web)", "", "[c d]"},
		{"app=web,tier=front", "", "[a]"},
		{"", "spec.nodeName=n1", "[a c]"},
		{"", "spec.nodeName=", "[d]"},
		{"", "spec.nodeName!=n1", "[b d]"},
		{"", "status.phase=Pending", "[a b c d]"},
		{"", "metadata.name=b", "[b]"},
		{"app=web", "spec.nodeName=n1", "[a]"},
	}
	for _, c := range cases {
		for _, rv := range []string{"", "0"} {
			list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: c.label, FieldSelector: c.field, ResourceVersion: rv})
			if err != nil {
				t.Fatalf("%q %q: %v", c.label, c.field, err)
			}
			var got []string
			for _, p := range list.Items {
				got = append(got, p.Name)
			}
			if fmt.Sprint(got) != c.want {
				t.Errorf("label %q field %q rv %q: got %v, want %s", c.label, c.field, rv, got, c.want)
			}
		}
	}
	_, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.bogus=x"})
	if !apierrors.IsBadRequest(err) || err.Error() != "field label not supported: spec.bogus" {
		t.Fatalf("unknown field label: %v", err)
	}
	_, err = pods.List(ctx, metav1.ListOptions{LabelSelector: "a in (b"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("bad label selector: %v", err)
	}
}
