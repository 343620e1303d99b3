package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Server is the cluster DNS server of one node.
type Server struct {
	cfg              parsedConfig
	zone             zone
	view             view
	informer         *informerView // the view when it is the informers'; nil in some tests
	hasSynced        []cache.InformerSynced
	services, slices cache.SharedIndexInformer
	fwd              *forwarder
	cache            *msgCache
	flight           singleflight.Group
	log              *slog.Logger

	// ctx is Run's context, for the lookups requests make.
	ctx     context.Context
	running atomic.Bool
	synced  atomic.Bool
	ready   chan struct{}

	mu    sync.Mutex
	addrs []string
}

// New checks cfg, adds the server's indexes to the informers and returns the server. It
// reads cfg.ResolvConf when cfg has no Upstreams, and does nothing else: no socket is
// opened before Run.
func New(cfg Config) (*Server, error) {
	p, err := parseConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster dns: %w", err)
	}
	if cfg.Services == nil || cfg.EndpointSlices == nil {
		return nil, errors.New("cluster dns: Services and EndpointSlices informers are required")
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	iv, err := newInformerView(cfg.Services, cfg.EndpointSlices, clk)
	if err != nil {
		return nil, fmt.Errorf("cluster dns: %w", err)
	}
	if len(p.upstreams) == 0 {
		log.Warn("cluster dns: no upstream resolvers; names outside the cluster domain will get SERVFAIL",
			"resolvConf", cfg.ResolvConf)
	}
	s := newServer(p, iv, clk, log)
	s.informer = iv
	s.zone.nameservers = cfg.ClusterDNS
	s.services, s.slices = cfg.Services, cfg.EndpointSlices
	s.hasSynced = []cache.InformerSynced{cfg.Services.HasSynced, cfg.EndpointSlices.HasSynced}
	return s, nil
}

// newServer returns a server over v, without informers.
func newServer(p parsedConfig, v view, clk clock.PassiveClock, log *slog.Logger) *Server {
	return &Server{
		cfg:   p,
		zone:  zone{name: p.zone},
		view:  v,
		fwd:   &forwarder{upstreams: p.upstreams, timeout: p.upstreamTimeout},
		cache: newMsgCache(clk, p.cacheSize),
		log:   log,
		ctx:   context.Background(),
		ready: make(chan struct{}),
	}
}

// Ready is closed once the server listens on every address and the informers have
// synced. Until they have, questions about the cluster domain and reverse names get
// SERVFAIL, so that clients retry, while other names are already forwarded.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the addresses the server listens on, in the order of Config.Listen, with
// the ports chosen for port 0; nil before Run has opened them.
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.addrs...)
}

// Run listens on every address of Config.Listen, on UDP and TCP, and serves until ctx
// ends, then stops serving and returns nil. It returns an error at once if an address
// cannot be listened on, and later if serving fails. It waits for the informers to sync
// (the caller starts them) before answering for the cluster domain. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("cluster dns: Run called twice")
	}
	s.ctx = ctx
	var conns []servedConn
	var addrs []string
	closeAll := func() {
		for _, c := range conns {
			c.close()
		}
	}
	for _, l := range s.cfg.listen {
		pc, ln, addr, err := listenPair(l)
		if err != nil {
			closeAll()
			return fmt.Errorf("cluster dns: %w", err)
		}
		conns = append(conns, servedConn{pc: pc}, servedConn{ln: ln})
		addrs = append(addrs, addr)
	}
	s.mu.Lock()
	s.addrs = addrs
	s.mu.Unlock()

	var regs []cache.ResourceEventHandlerRegistration
	if s.informer != nil {
		for _, inf := range []cache.SharedIndexInformer{s.services, s.slices} {
			reg, err := inf.AddEventHandler(s.informer.handler())
			if err != nil {
				closeAll()
				return fmt.Errorf("cluster dns: %w", err)
			}
			regs = append(regs, reg)
		}
		defer func() {
			for i, inf := range []cache.SharedIndexInformer{s.services, s.slices} {
				_ = inf.RemoveEventHandler(regs[i])
			}
		}()
	}

	errc := make(chan error, len(conns))
	var wg sync.WaitGroup
	servers := make([]*dns.Server, len(conns))
	started := make([]chan struct{}, len(conns))
	for i, c := range conns {
		started[i] = make(chan struct{})
		srv := &dns.Server{Handler: s, UDPSize: dns.DefaultMsgSize, PacketConn: c.pc, Listener: c.ln,
			NotifyStartedFunc: func() { close(started[i]) }}
		servers[i] = srv
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				errc <- fmt.Errorf("cluster dns: serve %s: %w", c.addr(), err)
			}
		}()
	}
	syncCtx, stopSync := context.WithCancel(ctx)
	defer stopSync()
	wg.Add(1)
	go func() {
		defer wg.Done()
		syncs := s.hasSynced
		for _, r := range regs {
			syncs = append(syncs, r.HasSynced)
		}
		if cache.WaitForCacheSync(syncCtx.Done(), syncs...) {
			s.synced.Store(true)
			close(s.ready)
		}
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopSync()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, srv := range servers {
		select {
		case <-started[i]:
			_ = srv.ShutdownContext(shutdownCtx)
		default:
			conns[i].close()
		}
	}
	wg.Wait()
	closeAll()
	return err
}

// servedConn is one listening socket: a UDP one or a TCP one.
type servedConn struct {
	pc net.PacketConn
	ln net.Listener
}

func (c servedConn) close() {
	if c.pc != nil {
		c.pc.Close()
	}
	if c.ln != nil {
		c.ln.Close()
	}
}

func (c servedConn) addr() string {
	if c.pc != nil {
		return "udp " + c.pc.LocalAddr().String()
	}
	return "tcp " + c.ln.Addr().String()
}

// listenPair listens on addr over UDP and TCP on the same port, which for port 0 is
// whichever free port UDP got (tried again, up to ten times, if TCP finds it taken).
func listenPair(addr string) (net.PacketConn, net.Listener, string, error) {
	host, port, err := splitListen(addr)
	if err != nil {
		return nil, nil, "", err
	}
	for attempt := 1; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, "", fmt.Errorf("listen udp %s: %w", addr, err)
		}
		actual := net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
		ln, err := net.Listen("tcp", actual)
		if err == nil {
			return pc, ln, actual, nil
		}
		pc.Close()
		if port != 0 || attempt == 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, "", fmt.Errorf("listen tcp %s: %w", actual, err)
		}
	}
}

// ServeDNS answers one request; it implements dns.Handler. A panic while answering is
// logged and answered SERVFAIL.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("cluster dns: panic answering a query", "panic", p, "question", questionString(req))
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeServerFailure)
			m.RecursionAvailable = true
			_ = w.WriteMsg(m)
		}
	}()
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	resp := s.respond(s.ctx, req, udp)
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("cluster dns: write answer", "err", err, "question", questionString(req))
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		m.RecursionAvailable = true
		_ = w.WriteMsg(m)
	}
}

func questionString(req *dns.Msg) string {
	if req == nil || len(req.Question) == 0 {
		return ""
	}
	return req.Question[0].String()
}

// respond returns the reply to req, a request that unpacked; udp says whether it came over
// UDP, whose replies are truncated to the client's size. The rules, in order:
//   - not exactly one question: FORMERR; an opcode other than QUERY: NOTIMP;
//   - EDNS version other than 0: BADVERS; a class other than IN, or a zone transfer:
//     REFUSED (as CoreDNS, which serves IN only);
//   - the cluster domain and PTR questions for cluster addresses are answered from the
//     informers (SERVFAIL until they have synced), an ExternalName's CNAME target outside
//     the cluster domain resolved through the upstreams;
//   - the rest is forwarded, through the cache; SERVFAIL if no upstream answers.
//
// A request with an OPT record gets one back with ednsSize and its DO bit. Address records
// in the answer are shuffled, as CoreDNS's loadbalance plugin does.
func (s *Server) respond(ctx context.Context, req *dns.Msg, udp bool) *dns.Msg {
	m := s.answerRequest(ctx, req)
	rcode := m.Rcode
	m.SetReply(req)
	m.Rcode = rcode
	m.RecursionAvailable = true
	m.Compress = true
	opt := req.IsEdns0()
	if opt != nil {
		// Packing puts an extended rcode's upper bits in the OPT record.
		m.SetEdns0(ednsSize, opt.Do())
	}
	shuffleAddresses(m.Answer)
	if udp {
		size := dns.MinMsgSize
		if opt != nil {
			size = min(max(int(opt.UDPSize()), dns.MinMsgSize), ednsSize)
		}
		m.Truncate(size)
	}
	return m
}

// answerRequest returns the reply to req without its header and OPT record; the Rcode
// may be an extended one.
func (s *Server) answerRequest(ctx context.Context, req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	opt := req.IsEdns0()
	if opt != nil && opt.Version() != 0 {
		m.Rcode = dns.RcodeBadVers
		return m
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		m.Rcode = dns.RcodeRefused
		return m
	}
	do := opt != nil && opt.Do()
	qname := strings.ToLower(q.Name)
	if !s.synced.Load() && (dns.IsSubDomain(s.zone.name, qname) || isReverseZone(qname)) {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	if a, ok := s.zone.answer(q, s.view); ok {
		s.chase(ctx, a, q.Qtype, do, req.CheckingDisabled)
		return a
	}
	r, err := s.lookup(ctx, q.Name, q.Qtype, do, req.CheckingDisabled)
	if err != nil {
		s.log.Debug("cluster dns: forward", "question", q.String(), "err", err)
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Rcode = r.Rcode
	m.AuthenticatedData = r.AuthenticatedData && (do || req.AuthenticatedData)
	m.Answer, m.Ns, m.Extra = r.Answer, r.Ns, withoutOPT(r.Extra)
	return m
}

// chase completes a cluster answer that ends in a CNAME to a name outside the cluster
// domain (an ExternalName Service) with the upstreams' answer for the target.
func (s *Server) chase(ctx context.Context, m *dns.Msg, qtype uint16, do, cd bool) {
	if len(m.Answer) == 0 || qtype == dns.TypeCNAME || m.Rcode != dns.RcodeSuccess {
		return
	}
	c, ok := m.Answer[len(m.Answer)-1].(*dns.CNAME)
	if !ok {
		return
	}
	r, err := s.lookup(ctx, c.Target, qtype, do, cd)
	if err != nil {
		s.log.Debug("cluster dns: resolve ExternalName target", "target", c.Target, "err", err)
		m.Rcode = dns.RcodeServerFailure
		return
	}
	m.Rcode = r.Rcode
	m.Answer = append(m.Answer, r.Answer...)
	if len(r.Answer) == 0 {
		m.Ns = r.Ns
	}
}

// lookup returns the upstreams' answer to name and qtype, from the cache if it has it.
// Concurrent lookups of one question share one exchange. The answer is the caller's.
func (s *Server) lookup(ctx context.Context, name string, qtype uint16, do, cd bool) (*dns.Msg, error) {
	k := newCacheKey(name, qtype, do, cd)
	if m, ok := s.cache.get(k); ok {
		return m, nil
	}
	flightKey := fmt.Sprintf("%s/%d/%t/%t", k.name, k.qtype, k.do, k.cd)
	v, err, _ := s.flight.Do(flightKey, func() (any, error) {
		r, err := s.fwd.exchange(ctx, upstreamQuery(k.name, qtype, do, cd))
		if err != nil {
			return nil, err
		}
		s.cache.put(k, r)
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*dns.Msg).Copy(), nil
}

// withoutOPT returns rrs without OPT records.
func withoutOPT(rrs []dns.RR) []dns.RR {
	out := rrs[:0:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// shuffleAddresses shuffles the A and AAAA records among the places they hold in rrs,
// leaving the others (CNAMEs) where they are.
func shuffleAddresses(rrs []dns.RR) {
	var idx []int
	for i, rr := range rrs {
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return
	}
	rand.Shuffle(len(idx), func(i, j int) {
		rrs[idx[i]], rrs[idx[j]] = rrs[idx[j]], rrs[idx[i]]
	})
}
