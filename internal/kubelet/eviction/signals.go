package eviction

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Signal is an eviction signal: a quantity the kubelet observes on the node, compared with its
// thresholds.
type Signal string

// The signals, with upstream's names.
const (
	// SignalMemoryAvailable is the node's memory capacity minus the working set of its root
	// cgroup.
	SignalMemoryAvailable Signal = "memory.available"
	// SignalNodeFsAvailable is the free space of the filesystem holding the kubelet's data
	// (pods' volumes and logs).
	SignalNodeFsAvailable Signal = "nodefs.available"
	// SignalNodeFsInodesFree is the free inodes of that filesystem.
	SignalNodeFsInodesFree Signal = "nodefs.inodesFree"
	// SignalImageFsAvailable is the free space of the filesystem holding images and
	// containers' writable layers.
	SignalImageFsAvailable Signal = "imagefs.available"
	// SignalImageFsInodesFree is the free inodes of that filesystem.
	SignalImageFsInodesFree Signal = "imagefs.inodesFree"
	// SignalPIDAvailable is the number of process IDs left: the kernel's maximum minus the
	// tasks that exist.
	SignalPIDAvailable Signal = "pid.available"
)

// Resources that are not resource names of the API; upstream uses these words in its messages.
const (
	ResourceInodes corev1.ResourceName = "inodes"
	ResourcePIDs   corev1.ResourceName = "pids"
)

// signalResource is the resource each signal measures: the one reclaimed when it is met.
var signalResource = map[Signal]corev1.ResourceName{
	SignalMemoryAvailable:   corev1.ResourceMemory,
	SignalNodeFsAvailable:   corev1.ResourceEphemeralStorage,
	SignalNodeFsInodesFree:  ResourceInodes,
	SignalImageFsAvailable:  corev1.ResourceEphemeralStorage,
	SignalImageFsInodesFree: ResourceInodes,
	SignalPIDAvailable:      ResourcePIDs,
}

// signalCondition is the node condition a met threshold of each signal raises.
var signalCondition = map[Signal]corev1.NodeConditionType{
	SignalMemoryAvailable:   corev1.NodeMemoryPressure,
	SignalNodeFsAvailable:   corev1.NodeDiskPressure,
	SignalNodeFsInodesFree:  corev1.NodeDiskPressure,
	SignalImageFsAvailable:  corev1.NodeDiskPressure,
	SignalImageFsInodesFree: corev1.NodeDiskPressure,
	SignalPIDAvailable:      corev1.NodePIDPressure,
}

// conditionOrder is the order in which conditions are listed (in admission messages, say).
var conditionOrder = []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

// Resource returns the resource the signal measures (memory, ephemeral-storage, inodes, pids).
func (s Signal) Resource() corev1.ResourceName { return signalResource[s] }

// Condition returns the node condition that a met threshold of the signal raises.
func (s Signal) Condition() corev1.NodeConditionType { return signalCondition[s] }

// IsDisk reports whether the signal measures a filesystem.
func (s Signal) IsDisk() bool { return s.Condition() == corev1.NodeDiskPressure }

// Defaults of the kubelet's flags.
const (
	// DefaultEvictionHard is upstream's --eviction-hard on Linux, except imagefs.available:
	// 10% where upstream has 15%. skiff keeps images in the agent's data dir, on the node
	// filesystem, so upstream's 15% would put a node under DiskPressure (refusing every new
	// pod) before nodefs.available<10%, on the same disk, says so.
	DefaultEvictionHard = "memory.available<100Mi,nodefs.available<10%,imagefs.available<10%,nodefs.inodesFree<5%"
	// DefaultPressureTransitionPeriod is upstream's --eviction-pressure-transition-period:
	// how long a pressure condition stays True after its threshold was last met.
	DefaultPressureTransitionPeriod = 5 * time.Minute
	// MonitoringInterval is how often the kubelet compares its observations with the
	// thresholds (upstream's housekeeping interval).
	MonitoringInterval = 10 * time.Second
)

// Threshold is a hard eviction threshold: the signal is below a quantity, or below a
// percentage of its capacity.
type Threshold struct {
	Signal Signal
	// Quantity, when set, is the threshold; otherwise Percentage (between 0 and 1, both
	// excluded) of the signal's capacity is.
	Quantity   *resource.Quantity `json:",omitempty"`
	Percentage float64            `json:",omitempty"`
}

// String returns the threshold in --eviction-hard's syntax.
func (t Threshold) String() string {
	if t.Quantity != nil {
		return string(t.Signal) + "<" + t.Quantity.String()
	}
	return string(t.Signal) + "<" + strconv.FormatFloat(t.Percentage*100, 'f', -1, 64) + "%"
}

// Value returns the threshold in the signal's unit (bytes, inodes, PIDs) for the capacity.
func (t Threshold) Value(capacity int64) int64 {
	if t.Quantity != nil {
		return t.Quantity.Value()
	}
	return int64(float64(capacity) * t.Percentage)
}

// DefaultThresholds returns upstream's Linux defaults (DefaultEvictionHard).
func DefaultThresholds() []Threshold {
	ths, err := ParseThresholds(DefaultEvictionHard)
	if err != nil {
		panic(err)
	}
	return ths
}

// FormatThresholds returns ths in --eviction-hard's syntax.
func FormatThresholds(ths []Threshold) string {
	parts := make([]string, len(ths))
	for i, t := range ths {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// ParseThresholds parses --eviction-hard: comma-separated "signal<quantity" or
// "signal<percentage%" items, as upstream's kubelet does. Like upstream's, it ignores 0% and
// 100% (a way to switch a signal off); an empty string is no threshold. Errors name the item.
func ParseThresholds(s string) ([]Threshold, error) {
	out := []Threshold{}
	seen := map[Signal]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		t, ignore, err := parseThreshold(item)
		if err != nil {
			return nil, fmt.Errorf("eviction threshold %q: %w", item, err)
		}
		if seen[t.Signal] {
			return nil, fmt.Errorf("eviction threshold %q: signal %s given twice", item, t.Signal)
		}
		seen[t.Signal] = true
		if !ignore {
			out = append(out, t)
		}
	}
	return out, nil
}

func parseThreshold(item string) (t Threshold, ignore bool, err error) {
	name, val, ok := strings.Cut(item, "<")
	if !ok {
		return t, false, fmt.Errorf("malformed pair, expect signal<value")
	}
	t.Signal = Signal(strings.TrimSpace(name))
	val = strings.TrimSpace(val)
	if _, ok := signalResource[t.Signal]; !ok {
		return t, false, fmt.Errorf("unsupported eviction signal %s", t.Signal)
	}
	if pct, ok := strings.CutSuffix(val, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil {
			return t, false, fmt.Errorf("percentage %q: %w", val, err)
		}
		switch {
		case p < 0:
			return t, false, fmt.Errorf("eviction percentage threshold %s must be >= 0%%: %s", t.Signal, val)
		case p > 100:
			return t, false, fmt.Errorf("eviction percentage threshold %s must be <= 100%%: %s", t.Signal, val)
		}
		t.Percentage = p / 100
		return t, p == 0 || p == 100, nil
	}
	q, err := resource.ParseQuantity(val)
	if err != nil {
		return t, false, fmt.Errorf("quantity %q: %w", val, err)
	}
	if q.Sign() <= 0 {
		return t, false, fmt.Errorf("eviction threshold %s must be positive: %s", t.Signal, q.String())
	}
	t.Quantity = &q
	return t, false, nil
}

// Observation is what the kubelet measured of one signal.
type Observation struct {
	// Available and Capacity are in the signal's unit: bytes, inodes or PIDs.
	Available, Capacity int64
}

// Observations are the signals the node could measure; thresholds of the others are never met.
type Observations map[Signal]Observation

// ThresholdsMet returns the thresholds whose signal is observed below them, in their order.
func ThresholdsMet(ths []Threshold, obs Observations) []Threshold {
	var met []Threshold
	for _, t := range ths {
		o, ok := obs[t.Signal]
		if ok && t.Value(o.Capacity) > o.Available {
			met = append(met, t)
		}
	}
	return met
}

// NodeConditions returns the node conditions that the met thresholds raise, each once, in
// the order MemoryPressure, DiskPressure, PIDPressure.
func NodeConditions(met []Threshold) []corev1.NodeConditionType {
	raised := map[corev1.NodeConditionType]bool{}
	for _, t := range met {
		raised[t.Signal.Condition()] = true
	}
	var out []corev1.NodeConditionType
	for _, c := range conditionOrder {
		if raised[c] {
			out = append(out, c)
		}
	}
	return out
}

// Pressure keeps the pressure conditions True for the transition period after their
// thresholds were last met, as upstream's --eviction-pressure-transition-period does, so that
// a node hovering around a threshold does not flap. The zero value is ready to use.
type Pressure struct {
	lastMet map[corev1.NodeConditionType]time.Time
}

// Observe records the thresholds met at now and returns the conditions that are True: those
// raised within period before now.
func (p *Pressure) Observe(met []Threshold, now time.Time, period time.Duration) []corev1.NodeConditionType {
	if p.lastMet == nil {
		p.lastMet = map[corev1.NodeConditionType]time.Time{}
	}
	for _, c := range NodeConditions(met) {
		p.lastMet[c] = now
	}
	var out []corev1.NodeConditionType
	for _, c := range conditionOrder {
		if at, ok := p.lastMet[c]; ok {
			if now.Sub(at) < period {
				out = append(out, c)
			} else {
				delete(p.lastMet, c)
			}
		}
	}
	return out
}

// ToReclaim picks the met threshold whose resource the kubelet reclaims first: memory before
// anything else, then the others in their configured order.
func ToReclaim(met []Threshold) (Threshold, bool) {
	for _, t := range met {
		if t.Signal == SignalMemoryAvailable {
			return t, true
		}
	}
	if len(met) == 0 {
		return Threshold{}, false
	}
	return met[0], true
}
