package dns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the UDP payload size the server advertises to clients and asks of upstreams:
// DNS Flag Day 2020's, which avoids IP fragmentation.
const ednsSize = 1232

// errNoUpstreams is forward's error when there is nowhere to forward to.
var errNoUpstreams = errors.New("no upstream resolvers")

// forwarder sends questions to the upstream resolvers.
type forwarder struct {
	upstreams []string // host:port
	timeout   time.Duration
	// first is the index of the upstream tried first: the last one that answered.
	first atomic.Uint32
}

// exchange asks the upstreams q, over UDP and again over TCP when the UDP answer is
// truncated, starting with the one that answered last. An upstream that fails, does not
// answer within the timeout, or answers SERVFAIL, REFUSED, NOTIMP or FORMERR (as a stub
// resolver would, the next one is tried then) gives way to the next. If none answers
// otherwise, the last such answer is returned, or an error if there was none.
func (f *forwarder) exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	n := len(f.upstreams)
	if n == 0 {
		return nil, errNoUpstreams
	}
	start := int(f.first.Load()) % n
	var last *dns.Msg
	var errs []error
	for i := range n {
		k := (start + i) % n
		r, err := f.exchangeOne(ctx, q, f.upstreams[k])
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch r.Rcode {
		case dns.RcodeServerFailure, dns.RcodeRefused, dns.RcodeNotImplemented, dns.RcodeFormatError:
			last = r
			continue
		}
		f.first.Store(uint32(k))
		return r, nil
	}
	if last != nil {
		return last, nil
	}
	return nil, errors.Join(errs...)
}

// exchangeOne asks one upstream.
func (f *forwarder) exchangeOne(ctx context.Context, q *dns.Msg, upstream string) (*dns.Msg, error) {
	r, err := f.try(ctx, "udp", q, upstream)
	if err == nil && r.Truncated {
		r, err = f.try(ctx, "tcp", q, upstream)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", upstream, err)
	}
	return r, nil
}

func (f *forwarder) try(ctx context.Context, network string, q *dns.Msg, upstream string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	c := dns.Client{Net: network, Timeout: f.timeout, UDPSize: ednsSize}
	r, _, err := c.ExchangeContext(ctx, q, upstream)
	if err != nil {
		return nil, err
	}
	if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, q.Question[0].Name) ||
		r.Question[0].Qtype != q.Question[0].Qtype || r.Question[0].Qclass != q.Question[0].Qclass {
		return nil, fmt.Errorf("%s: answer is not to the question %s", network, q.Question[0].String())
	}
	return r, nil
}

// upstreamQuery returns the question the server asks upstreams for name and qtype, with
// the client's DO and CD bits.
func upstreamQuery(name string, qtype uint16, do, cd bool) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.CheckingDisabled = cd
	q.SetEdns0(ednsSize, do)
	return q
}
