package dns

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Limits the kubelet applies to a pod's resolv.conf (its ExpandedDNSConfig limits, on by
// default since Kubernetes 1.28): the excess is dropped and a Warning event says so.
const (
	MaxNameservers       = 3
	MaxSearchDomains     = 32
	MaxSearchLineChars   = 2048
	maxSearchDomainChars = 253 // a longer search domain makes some glibc versions abort
)

// Event reasons of the Warnings PodResolvConf returns, the kubelet's.
const (
	ReasonDNSConfigForming  = "DNSConfigForming"
	ReasonMissingClusterDNS = "MissingClusterDNS"
)

// NodeDNS is what the node knows that a pod's resolv.conf is made from.
type NodeDNS struct {
	// ClusterDNS lists the cluster DNS Service IPs (the kubelet's --cluster-dns). Empty
	// turns ClusterFirst pods into Default ones, with a MissingClusterDNS warning.
	ClusterDNS []netip.Addr
	// ClusterDomain is the cluster domain (the kubelet's --cluster-domain). Empty leaves the
	// cluster's search domains out of ClusterFirst pods' search line.
	ClusterDomain string
	// HostResolvConf is the content of the node's resolv.conf (the agent's --resolv-conf),
	// the base for Default pods and where ClusterFirst pods get the host's search domains.
	// Empty gives Default pods no nameserver line, so that their resolver uses the local
	// machine's.
	HostResolvConf []byte
}

// Warning is a problem the kubelet reports as a Warning event on the pod.
type Warning struct {
	Reason  string
	Message string
}

// PodResolvConf returns the /etc/resolv.conf of pod, as the kubelet forms it:
//
//   - ClusterFirst (or no policy): the cluster DNS as the only nameservers, the search line
//     "<namespace>.svc.<domain> svc.<domain> <domain>" followed by the host's search
//     domains, and "options ndots:5" (the host's options are not kept). A hostNetwork pod
//     with ClusterFirst is treated as Default; so is any ClusterFirst pod when the node has
//     no cluster DNS (with a MissingClusterDNS warning).
//   - ClusterFirstWithHostNet: ClusterFirst, whether or not the pod uses the host network.
//   - Default: the host's nameservers, search domains and options.
//   - None: nothing but the pod's dnsConfig.
//
// Then the pod's spec.dnsConfig is merged in: its nameservers and searches are appended,
// duplicates dropped, and its options override the ones of the same name (an option
// without a value is written as its name alone). Last the kubelet's limits apply: at most
// MaxNameservers nameservers, MaxSearchDomains search domains, none longer than 253
// characters, and a search line of at most MaxSearchLineChars characters, cut from the
// end. Each limit that drops something adds a DNSConfigForming warning, which the caller
// should record as an Event on the pod.
//
// The file has, in this order and each only if not empty, a search line, one nameserver
// line per nameserver, and an options line (the layout container runtimes write). An error
// means the policy is unknown or the host's resolv.conf has a nameserver line without an
// address; the kubelet fails the pod's sandbox then.
func PodResolvConf(pod *corev1.Pod, node NodeDNS) (conf []byte, warnings []Warning, err error) {
	host, err := parseResolvConf(node.HostResolvConf)
	if err != nil {
		return nil, nil, fmt.Errorf("host resolv.conf: %w", err)
	}
	var rc resolvConf
	switch policy := podDNSPolicy(pod); policy {
	case corev1.DNSNone:
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		if len(node.ClusterDNS) > 0 {
			for _, a := range node.ClusterDNS {
				rc.nameservers = append(rc.nameservers, a.String())
			}
			rc.searches = clusterSearches(pod.Namespace, node.ClusterDomain, host.searches)
			rc.options = []string{"ndots:5"}
			break
		}
		warnings = append(warnings, Warning{ReasonMissingClusterDNS, fmt.Sprintf(
			"pod %q: kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.",
			pod.Namespace+"/"+pod.Name, corev1.DNSClusterFirst, corev1.DNSDefault)})
		rc = host
	case corev1.DNSDefault:
		rc = host
	default:
		return nil, nil, fmt.Errorf("pod %s/%s: unknown dnsPolicy %q", pod.Namespace, pod.Name, policy)
	}
	if c := pod.Spec.DNSConfig; c != nil {
		rc.nameservers = omitDuplicates(append(rc.nameservers, c.Nameservers...))
		rc.searches = omitDuplicates(append(rc.searches, c.Searches...))
		rc.options = mergeOptions(rc.options, c.Options)
	}
	var w []Warning
	rc, w = fitLimits(rc)
	warnings = append(warnings, w...)
	return rc.format(), warnings, nil
}

// podDNSPolicy returns the policy the kubelet applies to pod: its own, with ClusterFirst
// for none, and Default for a hostNetwork pod with ClusterFirst.
func podDNSPolicy(pod *corev1.Pod) corev1.DNSPolicy {
	p := pod.Spec.DNSPolicy
	if p == "" {
		p = corev1.DNSClusterFirst
	}
	if p == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		return corev1.DNSDefault
	}
	return p
}

// clusterSearches returns the search domains of a ClusterFirst pod in namespace: the
// cluster's three, then the host's, without duplicates.
func clusterSearches(namespace, domain string, host []string) []string {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return append([]string(nil), host...)
	}
	s := []string{namespace + ".svc." + domain, "svc." + domain, domain}
	return omitDuplicates(append(s, host...))
}

// resolvConf is what a resolv.conf says, as far as pods are concerned.
type resolvConf struct {
	nameservers []string
	searches    []string
	options     []string
}

// parseResolvConf reads a resolv.conf the way the kubelet does: nameserver lines
// accumulate; the last search line and the last options line win; search domains lose a
// trailing dot and "." is dropped; lines starting with '#' and other keywords are ignored.
// A nameserver line without an address is an error.
func parseResolvConf(data []byte) (resolvConf, error) {
	var rc resolvConf
	var errs []error
	for line := range bytes.Lines(data) {
		trimmed := strings.TrimSpace(string(line))
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		f := strings.Fields(trimmed)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				errs = append(errs, errors.New("nameserver line without an address"))
				continue
			}
			rc.nameservers = append(rc.nameservers, f[1])
		case "search":
			rc.searches = nil
			for _, s := range f[1:] {
				if s != "." {
					rc.searches = append(rc.searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			rc.options = append([]string(nil), f[1:]...)
		}
	}
	return rc, errors.Join(errs...)
}

// format writes rc as a resolv.conf.
func (rc resolvConf) format() []byte {
	var b bytes.Buffer
	if len(rc.searches) > 0 {
		b.WriteString("search " + strings.Join(rc.searches, " ") + "\n")
	}
	for _, ns := range rc.nameservers {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(rc.options) > 0 {
		b.WriteString("options " + strings.Join(rc.options, " ") + "\n")
	}
	return b.Bytes()
}

// omitDuplicates returns ss without the repeats of an earlier element.
func omitDuplicates(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions returns the options of existing ("name" or "name:value") with those of the
// pod's dnsConfig merged in: a pod option replaces the existing one of its name in place,
// others are appended in order. Options repeated in existing collapse into the first
// place, with the last value, as the kubelet's map does; unlike the kubelet's map, the
// order is stable.
func mergeOptions(existing []string, pod []corev1.PodDNSConfigOption) []string {
	var names []string
	values := map[string]string{}
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = value
	}
	for _, o := range existing {
		name, value, _ := strings.Cut(o, ":")
		set(name, value)
	}
	for _, o := range pod {
		value := ""
		if o.Value != nil {
			value = *o.Value
		}
		set(o.Name, value)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if v := values[n]; v != "" {
			out = append(out, n+":"+v)
		} else {
			out = append(out, n)
		}
	}
	return out
}

// fitLimits applies the kubelet's limits to rc, returning a DNSConfigForming warning for
// each limit that dropped something.
func fitLimits(rc resolvConf) (resolvConf, []Warning) {
	var warnings []Warning
	if len(rc.nameservers) > MaxNameservers {
		rc.nameservers = rc.nameservers[:MaxNameservers]
		warnings = append(warnings, Warning{ReasonDNSConfigForming,
			"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: " +
				strings.Join(rc.nameservers, " ")})
	}
	exceeded := false
	s := rc.searches
	if len(s) > MaxSearchDomains {
		s, exceeded = s[:MaxSearchDomains], true
	}
	kept := s[:0:0]
	for _, d := range s {
		if len(d) > maxSearchDomainChars {
			exceeded = true
			continue
		}
		kept = append(kept, d)
	}
	s = kept
	if n := len(strings.Join(s, " ")); n > MaxSearchLineChars {
		// Drop domains from the end until the line fits.
		for n > MaxSearchLineChars {
			n -= len(s[len(s)-1]) + 1
			s = s[:len(s)-1]
		}
		exceeded = true
	}
	rc.searches = s
	if exceeded {
		warnings = append(warnings, Warning{ReasonDNSConfigForming,
			"Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " +
				strings.Join(s, " ")})
	}
	return rc, warnings
}
