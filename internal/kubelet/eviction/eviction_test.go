package eviction

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const (
	mi = int64(1) << 20
	gi = int64(1) << 30
)

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: DefaultEvictionHard, want: DefaultEvictionHard},
		{in: "", want: ""},
		{in: " memory.available < 1Gi , pid.available<1000 ", want: "memory.available<1Gi,pid.available<1k"},
		{in: "nodefs.available<12.5%,imagefs.inodesFree<1%", want: "nodefs.available<12.5%,imagefs.inodesFree<1%"},
		// Upstream ignores 0% and 100%: the way to switch a signal off.
		{in: "memory.available<0%,nodefs.available<100%,pid.available<10%", want: "pid.available<10%"},
		{in: "memory.available<100Mi,", want: "memory.available<100Mi"},
		{in: "memory.free<1Gi", err: `eviction threshold "memory.free<1Gi": unsupported eviction signal memory.free`},
		{in: "memory.available>1Gi", err: `eviction threshold "memory.available>1Gi": malformed pair, expect signal<value`},
		{in: "memory.available<lots", err: `eviction threshold "memory.available<lots": quantity "lots": quantities must match the regular expression`},
		{in: "memory.available<-1Mi", err: `eviction threshold "memory.available<-1Mi": eviction threshold memory.available must be positive: -1Mi`},
		{in: "memory.available<0", err: `eviction threshold "memory.available<0": eviction threshold memory.available must be positive: 0`},
		{in: "nodefs.available<101%", err: `eviction threshold "nodefs.available<101%": eviction percentage threshold nodefs.available must be <= 100%: 101%`},
		{in: "nodefs.available<-1%", err: `eviction threshold "nodefs.available<-1%": eviction percentage threshold nodefs.available must be >= 0%: -1%`},
		{in: "nodefs.available<x%", err: `eviction threshold "nodefs.available<x%": percentage "x%": strconv.ParseFloat`},
		{in: "memory.available<1Gi,memory.available<2Gi", err: `eviction threshold "memory.available<2Gi": signal memory.available given twice`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			ths, err := ParseThresholds(tc.in)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := FormatThresholds(ths); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{DefaultEvictionHard, "pid.available<10%", "memory.available<1.5Gi,imagefs.inodesFree<3", "x<y,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ths, err := ParseThresholds(s)
		if err != nil {
			return
		}
		again, err := ParseThresholds(FormatThresholds(ths))
		if err != nil {
			t.Fatalf("%q formats as %q, which does not parse: %v", s, FormatThresholds(ths), err)
		}
		if FormatThresholds(again) != FormatThresholds(ths) {
			t.Fatalf("%q: %q then %q", s, FormatThresholds(ths), FormatThresholds(again))
		}
	})
}

func mustParse(t *testing.T, s string) []Threshold {
	t.Helper()
	ths, err := ParseThresholds(s)
	if err != nil {
		t.Fatal(err)
	}
	return ths
}

func TestThresholdsMetAndConditions(t *testing.T) {
	ths := DefaultThresholds()
	tests := []struct {
		name  string
		obs   Observations
		met   string
		conds []corev1.NodeConditionType
	}{
		{name: "nothing observed", obs: Observations{}},
		{name: "plenty", obs: Observations{
			SignalMemoryAvailable: {Available: 8 * gi, Capacity: 16 * gi},
			SignalNodeFsAvailable: {Available: 50 * gi, Capacity: 100 * gi},
		}},
		{name: "memory low", obs: Observations{
			SignalMemoryAvailable: {Available: 99 * mi, Capacity: 16 * gi},
			SignalNodeFsAvailable: {Available: 50 * gi, Capacity: 100 * gi},
		}, met: "memory.available<100Mi", conds: []corev1.NodeConditionType{corev1.NodeMemoryPressure}},
		{name: "exactly at the threshold is not below it", obs: Observations{
			SignalMemoryAvailable: {Available: 100 * mi, Capacity: 16 * gi},
		}},
		{name: "disk by percentage and inodes", obs: Observations{
			SignalMemoryAvailable:  {Available: 99 * mi, Capacity: 16 * gi},
			SignalNodeFsAvailable:  {Available: 9 * gi, Capacity: 100 * gi},
			SignalImageFsAvailable: {Available: 9 * gi, Capacity: 100 * gi},
			SignalNodeFsInodesFree: {Available: 4, Capacity: 100},
		}, met: "memory.available<100Mi,nodefs.available<10%,imagefs.available<10%,nodefs.inodesFree<5%",
			conds: []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}},
		{name: "imagefs alone", obs: Observations{
			SignalImageFsAvailable: {Available: 9 * gi, Capacity: 100 * gi},
		}, met: "imagefs.available<10%", conds: []corev1.NodeConditionType{corev1.NodeDiskPressure}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			met := ThresholdsMet(ths, tc.obs)
			if got := FormatThresholds(met); got != tc.met {
				t.Errorf("met %q, want %q", got, tc.met)
			}
			if got := NodeConditions(met); !reflect.DeepEqual(got, tc.conds) {
				t.Errorf("conditions %v, want %v", got, tc.conds)
			}
		})
	}
	pid := mustParse(t, "pid.available<10%")
	if got := NodeConditions(ThresholdsMet(pid, Observations{SignalPIDAvailable: {Available: 3000, Capacity: 32768}})); !reflect.DeepEqual(got, []corev1.NodeConditionType{corev1.NodePIDPressure}) {
		t.Errorf("pid: %v", got)
	}
}

func TestPressureTransitionPeriod(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mem := mustParse(t, "memory.available<1Gi")
	disk := mustParse(t, "nodefs.available<10%")
	var p Pressure
	steps := []struct {
		at   time.Duration
		met  []Threshold
		want string
	}{
		{0, nil, "[]"},
		{10 * time.Second, mem, "[MemoryPressure]"},
		{20 * time.Second, disk, "[MemoryPressure DiskPressure]"},
		{30 * time.Second, nil, "[MemoryPressure DiskPressure]"},
		// 5 minutes after the last time each was met.
		{5*time.Minute + 9*time.Second, nil, "[MemoryPressure DiskPressure]"},
		{5*time.Minute + 10*time.Second, nil, "[DiskPressure]"},
		{5*time.Minute + 15*time.Second, mem, "[MemoryPressure DiskPressure]"},
		{5*time.Minute + 20*time.Second, nil, "[MemoryPressure]"},
		{10*time.Minute + 15*time.Second, nil, "[]"},
	}
	for _, s := range steps {
		if got := fmt.Sprint(p.Observe(s.met, t0.Add(s.at), DefaultPressureTransitionPeriod)); got != s.want {
			t.Errorf("at %v: %s, want %s", s.at, got, s.want)
		}
	}
}

func TestToReclaim(t *testing.T) {
	met := mustParse(t, "nodefs.available<10%,pid.available<100,memory.available<1Gi")
	if got, _ := ToReclaim(met); got.Signal != SignalMemoryAvailable {
		t.Errorf("got %s, want memory first", got.Signal)
	}
	if got, _ := ToReclaim(met[:2]); got.Signal != SignalNodeFsAvailable {
		t.Errorf("got %s, want the first configured", got.Signal)
	}
	if _, ok := ToReclaim(nil); ok {
		t.Error("nothing met: nothing to reclaim")
	}
}

// pod builds a pod; each container is "name:memRequest:memLimit" ("" for none).
func pod(name string, priority int32, ctrs ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{Priority: ptr.To(priority)}}
	for _, c := range ctrs {
		f := strings.Split(c, ":")
		ctr := corev1.Container{Name: f[0]}
		if len(f) > 1 && f[1] != "" {
			ctr.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(f[1]), corev1.ResourceEphemeralStorage: resource.MustParse(f[1])}
		}
		if len(f) > 2 && f[2] != "" {
			ctr.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(f[2])}
		}
		p.Spec.Containers = append(p.Spec.Containers, ctr)
	}
	return p
}

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, " ")
}

func TestRank(t *testing.T) {
	// usage: memory = disk = inodes; procs separately.
	type use struct{ bytes, procs int64 }
	tests := []struct {
		name   string
		signal Signal
		pods   []*corev1.Pod
		usage  map[string]use // missing: no stats
		want   string
	}{{
		name:   "memory: over requests first, then lower priority, then usage above requests",
		signal: SignalMemoryAvailable,
		pods: []*corev1.Pod{
			pod("guaranteed-big", 0, "c:1Gi:1Gi"),     // under its request
			pod("besteffort-small", 0, "c"),           // over (request 0)
			pod("burstable-over", 0, "c:100Mi"),       // over by 100Mi
			pod("besteffort-big", 0, "c"),             // over by 300Mi
			pod("critical-ish", 1000, "c"),            // over, higher priority
			pod("guaranteed-small", -10, "c:1Gi:1Gi"), // under, lower priority
		},
		usage: map[string]use{"guaranteed-big": {900 * mi, 0}, "besteffort-small": {10 * mi, 0}, "burstable-over": {200 * mi, 0},
			"besteffort-big": {300 * mi, 0}, "critical-ish": {2 * gi, 0}, "guaranteed-small": {10 * mi, 0}},
		want: "besteffort-big burstable-over besteffort-small critical-ish guaranteed-small guaranteed-big",
	}, {
		name:   "memory: a pod without stats goes first",
		signal: SignalMemoryAvailable,
		pods:   []*corev1.Pod{pod("a", 0, "c"), pod("nostats", 0, "c:1Gi:1Gi")},
		usage:  map[string]use{"a": {10 * mi, 0}},
		want:   "nostats a",
	}, {
		name:   "disk: the same over ephemeral-storage",
		signal: SignalNodeFsAvailable,
		pods:   []*corev1.Pod{pod("requested", 0, "c:1Gi"), pod("small", 0, "c"), pod("large", 0, "c"), pod("low", -1, "c")},
		usage:  map[string]use{"requested": {500 * mi, 0}, "small": {1 * mi, 0}, "large": {2 * gi, 0}, "low": {1, 0}},
		want:   "low large small requested",
	}, {
		name:   "inodes",
		signal: SignalNodeFsInodesFree,
		pods:   []*corev1.Pod{pod("few", 0, "c"), pod("many", 0, "c")},
		usage:  map[string]use{"few": {10, 0}, "many": {1000, 0}},
		want:   "many few",
	}, {
		name:   "pids: priority, then processes",
		signal: SignalPIDAvailable,
		pods:   []*corev1.Pod{pod("few", 0, "c"), pod("many", 0, "c"), pod("high", 10, "c"), pod("low", -5, "c")},
		usage:  map[string]use{"few": {0, 3}, "many": {0, 300}, "high": {0, 9999}, "low": {0, 1}},
		want:   "low many few high",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := func(p *corev1.Pod) (PodStats, bool) {
				u, ok := tc.usage[p.Name]
				return PodStats{Memory: u.bytes, EphemeralStorage: u.bytes, Inodes: u.bytes, Processes: u.procs}, ok
			}
			pods := append([]*corev1.Pod(nil), tc.pods...)
			Rank(tc.signal, pods, stats)
			if got := names(pods); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	mem := mustParse(t, "memory.available<100Mi")[0]
	disk := mustParse(t, "nodefs.available<10%")[0]
	inodes := mustParse(t, "nodefs.inodesFree<5%")[0]
	p := pod("p", 0, "x", "y:64Mi", "z:1Gi")
	p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	stats := PodStats{Containers: []ContainerStats{
		{Name: "x", Memory: 70 * mi, EphemeralStorage: 5 * gi},
		{Name: "y", Memory: 65 * mi, EphemeralStorage: 0},
		{Name: "z", Memory: 512 * mi, EphemeralStorage: 3*gi + 1},
		{Name: "gone", Memory: gi},
	}}
	tests := []struct {
		name  string
		t     Threshold
		obs   Observations
		stats bool
		want  string
	}{
		{"memory", mem, Observations{SignalMemoryAvailable: {Available: 50 * mi, Capacity: 16 * gi}}, true,
			"The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. " +
				"Container x was using 70Mi, request is 0, has larger consumption of memory. " +
				"Container y was using 65Mi, request is 64Mi, has larger consumption of memory. "},
		{"disk by percentage", disk, Observations{SignalNodeFsAvailable: {Available: 5 * gi, Capacity: 100 * gi}}, true,
			"The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. " +
				"Container x was using 5Gi, request is 0, has larger consumption of ephemeral-storage. " +
				"Container z was using 3221225473, request is 1Gi, has larger consumption of ephemeral-storage. "},
		{"inodes name no container", inodes, Observations{SignalNodeFsInodesFree: {Available: 1000, Capacity: 1000000}}, true,
			"The node was low on resource: inodes. Threshold quantity: 50k, available: 1k. "},
		{"no stats", mem, Observations{SignalMemoryAvailable: {Available: 50 * mi, Capacity: 16 * gi}}, false,
			"The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Message(tc.t, p, stats, tc.stats, tc.obs); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestAdmit(t *testing.T) {
	mp := []corev1.NodeConditionType{corev1.NodeMemoryPressure}
	dp := []corev1.NodeConditionType{corev1.NodeDiskPressure}
	both := []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}
	tolerating := pod("tolerating", 0, "c")
	tolerating.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	critical := pod("critical", SystemCriticalPriority+1000, "c")
	static := pod("static", 0, "c")
	static.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
	tests := []struct {
		name  string
		pod   *corev1.Pod
		qos   corev1.PodQOSClass
		conds []corev1.NodeConditionType
		want  string
	}{
		{"no pressure", pod("a", 0, "c"), corev1.PodQOSBestEffort, nil, ""},
		{"memory pressure refuses BestEffort", pod("a", 0, "c"), corev1.PodQOSBestEffort, mp, "Evicted: The node had condition: [MemoryPressure]. "},
		{"memory pressure admits Burstable", pod("a", 0, "c:1Mi"), corev1.PodQOSBurstable, mp, ""},
		{"memory pressure admits Guaranteed", pod("a", 0, "c:1Mi:1Mi"), corev1.PodQOSGuaranteed, mp, ""},
		{"a BestEffort pod tolerating the memory-pressure taint", tolerating, corev1.PodQOSBestEffort, mp, ""},
		{"disk pressure refuses all", pod("a", 0, "c:1Mi:1Mi"), corev1.PodQOSGuaranteed, dp, "Evicted: The node had condition: [DiskPressure]. "},
		{"both", tolerating, corev1.PodQOSBestEffort, both, "Evicted: The node had condition: [MemoryPressure DiskPressure]. "},
		{"critical pods always", critical, corev1.PodQOSBestEffort, both, ""},
		{"static pods always", static, corev1.PodQOSBestEffort, both, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, msg := Admit(tc.pod, tc.qos, tc.conds)
			got := ""
			if !ok {
				got = reason + ": " + msg
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
