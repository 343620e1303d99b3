package dns

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"k8s.io/utils/clock"
)

// Cache TTL bounds, CoreDNS's cache plugin defaults.
const (
	maxPositiveTTL = 3600 // seconds
	maxNegativeTTL = 1800
	minCacheTTL    = 5
)

// cacheKey identifies a forwarded question. The DO and CD bits are part of it because they
// change what an upstream answers.
type cacheKey struct {
	name   string // lower case
	qtype  uint16
	do, cd bool
}

func newCacheKey(name string, qtype uint16, do, cd bool) cacheKey {
	return cacheKey{name: strings.ToLower(name), qtype: qtype, do: do, cd: cd}
}

// msgCache keeps forwarded answers as CoreDNS's cache plugin does: a positive answer for
// its smallest TTL, a negative one (NXDOMAIN, or NOERROR without answers) for the smaller
// of its SOA's TTL and minimum, 5 s without a SOA; each at least 5 s, positive ones at
// most 3600 s and negative ones 1800 s. Other answers (SERVFAIL, REFUSED, truncated ones)
// are not kept. An answer served from the cache has every TTL set to the seconds it has
// left there. When full, an arbitrary entry makes room for a new one. It is safe for
// concurrent use.
type msgCache struct {
	clock clock.PassiveClock
	max   int

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheEntry struct {
	msg    *dns.Msg // never modified after put
	stored time.Time
	ttl    uint32
}

// newMsgCache returns a cache of at most max entries; max <= 0 gives one that keeps
// nothing.
func newMsgCache(clk clock.PassiveClock, max int) *msgCache {
	return &msgCache{clock: clk, max: max, entries: map[cacheKey]cacheEntry{}}
}

// get returns a copy of the answer cached for k with its TTLs counted down, if there is
// one that has not expired.
func (c *msgCache) get(k cacheKey) (*dns.Msg, bool) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	// A clock that went back counts as no time passed.
	left := int64(e.ttl) - int64(max(now.Sub(e.stored), 0)/time.Second)
	if left <= 0 {
		delete(c.entries, k)
		c.mu.Unlock()
		return nil, false
	}
	c.mu.Unlock()
	m := e.msg.Copy()
	for _, section := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range section {
			if rr.Header().Rrtype != dns.TypeOPT {
				rr.Header().Ttl = uint32(left)
			}
		}
	}
	return m, true
}

// put caches m, an upstream's answer to k, if it is an answer to keep.
func (c *msgCache) put(k cacheKey, m *dns.Msg) {
	ttl, ok := cacheTTL(m)
	if !ok || c.max <= 0 {
		return
	}
	e := cacheEntry{msg: m.Copy(), stored: c.clock.Now(), ttl: ttl}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for victim := range c.entries {
			delete(c.entries, victim)
			break
		}
	}
	c.entries[k] = e
}

// len returns the number of entries, expired ones included.
func (c *msgCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cacheTTL returns how many seconds to keep m, and false if m is not to be kept.
func cacheTTL(m *dns.Msg) (uint32, bool) {
	if m.Truncated {
		return 0, false
	}
	switch {
	case m.Rcode == dns.RcodeNameError, m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0:
		ttl := uint32(minCacheTTL)
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = min(soa.Hdr.Ttl, soa.Minttl)
				break
			}
		}
		return min(max(ttl, minCacheTTL), maxNegativeTTL), true
	case m.Rcode == dns.RcodeSuccess:
		ttl := uint32(maxPositiveTTL)
		for _, section := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range section {
				if rr.Header().Rrtype != dns.TypeOPT {
					ttl = min(ttl, rr.Header().Ttl)
				}
			}
		}
		return max(ttl, minCacheTTL), true
	}
	return 0, false
}
