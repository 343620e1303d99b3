package server

import (
	"net"
	"time"

	"github.com/skiff-project/skiff/internal/kubelet/eviction"
)

// Config is what `skiff server` is started with (DESIGN.md §1).
type Config struct {
	DataDir          string
	BindAddress      string
	AdvertiseAddress string
	Port             int
	TLSSANs          []string
	NodeName         string
	DisableAgent     bool
	// AgentDataDir is the local agent's data dir (default <DataDir>/agent); NodeIP its node's
	// InternalIP (default AdvertiseAddress, else detected); ResolvConf the resolver
	// configuration its pods copy.
	AgentDataDir string
	NodeIP       string
	ResolvConf   string
	// NetworkBackend is the local node's pod network backend: vxlan (""), host-gw or none.
	NetworkBackend   string
	EtcdServers      []string
	ClusterCIDR      string
	NodeCIDRMaskSize int
	ServiceCIDR      string
	ClusterDomain    string
	// ClusterDNS is the cluster DNS Service's IP (the kube-dns Service in kube-system), which
	// every node's DNS server answers on; "" means the 10th address of ServiceCIDR.
	ClusterDNS string
	// NodeMonitorGracePeriod is how long a node may go without heartbeats before it is NotReady.
	NodeMonitorGracePeriod time.Duration
	// DisableScheduler does not run the scheduler (another scheduler places pods).
	DisableScheduler bool
	// DisableControllers does not run the controller manager.
	DisableControllers bool
	// SimulatedNodes runs that many simulated nodes (skiff simulate) inside the server.
	SimulatedNodes int
	// UnsafeNoFsync runs embedded etcd without fsync; for tests and benchmarks only.
	UnsafeNoFsync bool
	// AuditLogPath is the audit log (default <data-dir>/audit.log); AuditPolicyFile, if set,
	// is a Kubernetes audit Policy (default: Metadata for every request).
	AuditLogPath    string
	AuditPolicyFile string
	AuditMaxAge     int
	AuditMaxBackup  int
	AuditMaxSize    int
	// PodSecurityEnforce is the Pod Security Standard enforced in namespaces whose labels name
	// none: privileged (the default), baseline or restricted. Warn and audit default to baseline.
	PodSecurityEnforce string
	// TokenAuthFile is a CSV file of static bearer tokens (token,user,uid,"group1,group2").
	TokenAuthFile string
	// Profiling serves /debug/pprof/ to users allowed to get it.
	Profiling bool

	// AgentEvictionHard and AgentEvictionPressureTransitionPeriod are the local agent's
	// --eviction-hard (nil: upstream's defaults) and --eviction-pressure-transition-period.
	AgentEvictionHard                     []eviction.Threshold
	AgentEvictionPressureTransitionPeriod time.Duration
}

// DefaultConfig returns the defaults of `skiff server`.
func DefaultConfig() Config {
	return Config{
		DataDir:                "/var/lib/skiff/server",
		BindAddress:            "0.0.0.0",
		Port:                   6443,
		ClusterCIDR:            "10.42.0.0/16",
		NodeCIDRMaskSize:       24,
		ServiceCIDR:            "10.43.0.0/16",
		ClusterDomain:          "cluster.local",
		NodeMonitorGracePeriod: 50 * time.Second,
		AuditMaxAge:            30,
		AuditMaxBackup:         10,
		AuditMaxSize:           100,
		PodSecurityEnforce:     "privileged",
	}
}

// kubeconfigHost is the address the admin kubeconfig points at: loopback when bound to all
// addresses, else the bind address.
func (c Config) kubeconfigHost() string {
	ip := net.ParseIP(c.BindAddress)
	if c.BindAddress == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return c.BindAddress
}
