package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Proxier programs the node's service proxy table from Services and EndpointSlices. Its
// kernel work happens in the network namespace of the thread that runs Sync, which is the
// process's unless the caller locked its thread into another one.
type Proxier struct {
	facts      *nodeFacts
	log        *slog.Logger
	minSync    time.Duration
	syncPeriod time.Duration
	services   cache.Store
	slices     cache.Store
	hasSynced  []cache.InformerSynced

	newConn func() (*nftables.Conn, error)
	flows   flowDeleter
	now     func() time.Time
	metrics *metrics

	mu       sync.Mutex
	changed  map[string]bool // Services whose rules may differ from the kernel's
	needFull bool
	trigger  chan struct{}

	syncMu       sync.Mutex // one sync at a time; guards the fields below
	applied      map[string]*serviceRules
	appliedElems elementsBySet
	lastFull     time.Time
	conflicts    map[string]bool // conflicts already logged
	stats        SyncStats

	synced     chan struct{}
	syncedOnce sync.Once
}

// SyncStats describes the last successful sync.
type SyncStats struct {
	Full          bool
	Start         time.Time
	Duration      time.Duration
	Services      int // Services with rules
	Chains        int // chains in the table
	Rules         int // rules in the table
	ChainsWritten int // chains written or deleted by the sync
	Elements      int // set and map elements added or deleted by the sync
	StaleFlows    uint
}

// New returns a Proxier for the Services and EndpointSlices the informers hold, and adds
// its event handlers to them. It changes nothing in the kernel; the informers may be
// started before or after.
func New(cfg Config, services, slices cache.SharedIndexInformer) (*Proxier, error) {
	facts, err := parseConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("service proxy: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxier{
		facts: facts, log: log.With("table", facts.table),
		minSync: cfg.MinSyncPeriod, syncPeriod: cfg.SyncPeriod,
		services: services.GetStore(), slices: slices.GetStore(),
		newConn: func() (*nftables.Conn, error) {
			return nftables.New(nftables.WithSockOptions(bigBuffers))
		},
		flows:   netlinkFlows{},
		now:     time.Now,
		changed: map[string]bool{}, needFull: true, trigger: make(chan struct{}, 1),
		applied: map[string]*serviceRules{}, appliedElems: elementsBySet{}, conflicts: map[string]bool{},
		synced: make(chan struct{}),
	}
	if p.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("service proxy: metrics: %w", err)
	}
	if p.minSync <= 0 {
		p.minSync = DefaultMinSyncPeriod
	}
	if p.syncPeriod <= 0 {
		p.syncPeriod = DefaultSyncPeriod
	}
	sreg, err := services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.serviceEvent(obj) },
		UpdateFunc: func(_, obj any) { p.serviceEvent(obj) },
		DeleteFunc: func(obj any) { p.serviceEvent(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("service proxy: services informer: %w", err)
	}
	ereg, err := slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { p.sliceEvent(obj) },
		UpdateFunc: func(old, obj any) {
			p.sliceEvent(old) // the service-name label may have changed
			p.sliceEvent(obj)
		},
		DeleteFunc: func(obj any) { p.sliceEvent(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("service proxy: endpointslices informer: %w", err)
	}
	p.hasSynced = []cache.InformerSynced{sreg.HasSynced, ereg.HasSynced}
	return p, nil
}

func (p *Proxier) serviceEvent(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if svc, ok := obj.(*v1.Service); ok {
		p.markChanged(serviceKey(svc.Namespace, svc.Name))
	}
}

func (p *Proxier) sliceEvent(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if s, ok := obj.(*discovery.EndpointSlice); ok {
		if key := sliceService(s); key != "" {
			p.markChanged(key)
		}
	}
}

// markChanged records that key's rules must be rebuilt and wakes the sync loop.
func (p *Proxier) markChanged(key string) {
	p.mu.Lock()
	p.changed[key] = true
	p.mu.Unlock()
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// Synced is closed after the first successful sync.
func (p *Proxier) Synced() <-chan struct{} { return p.synced }

// TableName returns the name of the table (family inet) the Proxier programs.
func (p *Proxier) TableName() string { return p.facts.table }

// Stats returns what the last successful sync did.
func (p *Proxier) Stats() SyncStats {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	return p.stats
}

// Run sets the kernel settings the data path needs, waits for the informers to sync, and
// then syncs at start, after every change (at most once per MinSyncPeriod) and fully every
// SyncPeriod, until ctx ends. A failed sync is retried, fully, with backoff. On return the
// rules stay in place for the next agent; Cleanup removes them.
func (p *Proxier) Run(ctx context.Context) error {
	p.ensureSysctls()
	if !cache.WaitForCacheSync(ctx.Done(), p.hasSynced...) {
		return nil
	}
	backoff := time.Duration(0)
	var last time.Time
	for {
		worked, err := p.sync()
		if err != nil {
			backoff = min(max(2*backoff, p.minSync, time.Second), 30*time.Second)
			p.log.Error("service proxy sync failed; retrying", "err", err, "retry_in", backoff)
		} else {
			backoff = 0
		}
		if worked || err != nil {
			last = p.now()
		}
		wait := p.syncPeriod - p.now().Sub(p.lastFullSync())
		if backoff > 0 {
			wait = backoff
		}
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case <-p.trigger:
			timer.Stop()
			if backoff > 0 {
				// A failed sync is retried after its backoff, whatever changes.
				if !sleepCtx(ctx, backoff-p.now().Sub(last)) {
					return nil
				}
			} else if !sleepCtx(ctx, p.minSync-p.now().Sub(last)) {
				return nil
			}
		}
	}
}

func (p *Proxier) lastFullSync() time.Time {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	return p.lastFull
}

// sleepCtx waits for d or for ctx to end, and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Sync brings the kernel's table up to date with the informers' Services and
// EndpointSlices in one transaction. The first sync, the one after a failure, and one every
// SyncPeriod rewrite the whole table; the others touch only the chains and map elements of
// the Services that changed since the last successful sync.
func (p *Proxier) Sync() error {
	_, err := p.sync()
	return err
}

// sync is Sync, and reports whether there was anything to do.
func (p *Proxier) sync() (worked bool, err error) {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	start := p.now()

	p.mu.Lock()
	changed := p.changed
	p.changed = map[string]bool{}
	full := p.needFull || start.Sub(p.lastFull) >= p.syncPeriod
	p.needFull = false
	p.mu.Unlock()
	if !full && len(changed) == 0 {
		return false, nil
	}

	err = p.apply(start, full, changed)
	if err != nil {
		p.mu.Lock()
		for k := range changed {
			p.changed[k] = true
		}
		p.needFull = true
		p.mu.Unlock()
		return true, err
	}
	p.syncedOnce.Do(func() { close(p.synced) })
	return true, nil
}

// apply rebuilds the rules of the changed Services (of all, if full) and programs the
// kernel.
func (p *Proxier) apply(start time.Time, full bool, changed map[string]bool) error {
	next := maps.Clone(p.applied)
	var keys []string
	if full {
		next = map[string]*serviceRules{}
		for _, obj := range p.services.List() {
			if svc, ok := obj.(*v1.Service); ok {
				keys = append(keys, serviceKey(svc.Namespace, svc.Name))
			}
		}
		for k := range p.applied {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	} else {
		keys = slices.Collect(maps.Keys(changed))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	bySvc := map[string][]*discovery.EndpointSlice{}
	for _, obj := range p.slices.List() {
		if s, ok := obj.(*discovery.EndpointSlice); ok {
			if k := sliceService(s); want[k] {
				bySvc[k] = append(bySvc[k], s)
			}
		}
	}
	for _, k := range keys {
		obj, exists, err := p.services.GetByKey(k)
		svc, ok := obj.(*v1.Service)
		if err != nil || !exists || !ok {
			delete(next, k)
			continue
		}
		r := buildService(p.facts, svc, bySvc[k])
		for _, w := range r.warnings {
			p.log.Warn(w)
		}
		if len(r.chains) == 0 && len(r.claims) == 0 {
			delete(next, k)
			continue
		}
		next[k] = r
	}
	ordered := slices.SortedFunc(maps.Values(next), (*serviceRules).compare)
	table, elems, conflicts := assemble(p.facts, ordered)
	p.logConflicts(conflicts)
	built := p.now()

	conn, err := p.newConn()
	if err != nil {
		return fmt.Errorf("service proxy: nftables: %w", err)
	}
	setIndex := map[string]setSpec{}
	for _, s := range table.Sets {
		setIndex[s.Name] = s
	}
	var plan syncPlan
	if full {
		chains, sets, err := existing(conn, p.facts.table)
		if err != nil {
			return fmt.Errorf("service proxy: %w", err)
		}
		plan = planFull(table, chains, sets)
		if err := applyPlan(conn, p.facts.table, plan, setIndex); err != nil {
			// The table may hold objects of another shape (an older version's): start over.
			p.log.Warn("full sync failed; recreating the table", "err", err)
			plan = planFull(table, nil, nil)
			plan.recreate = true
			if err := applyPlan(conn, p.facts.table, plan, setIndex); err != nil {
				return fmt.Errorf("service proxy: %w", err)
			}
		}
	} else {
		plan = planIncremental(keys, p.applied, next, p.appliedElems, elems)
		if err := applyPlan(conn, p.facts.table, plan, setIndex); err != nil {
			return fmt.Errorf("service proxy: %w", err)
		}
	}

	var filters []flowFilter
	for _, k := range keys {
		filters = append(filters, staleFlows(p.applied[k], next[k])...)
	}
	var stale uint
	if len(filters) > 0 {
		n, err := p.flows.deleteFlows(filters)
		stale = n
		if err != nil {
			p.log.Warn("could not delete stale UDP conntrack entries", "err", err)
		}
	}

	p.applied, p.appliedElems = next, elems
	if full {
		p.lastFull = start
	}
	chainsTouched, elemsTouched := plan.touched()
	rules := 0
	for _, c := range table.Chains {
		rules += len(c.Rules)
	}
	p.stats = SyncStats{
		Full: full, Start: start, Duration: p.now().Sub(start), Services: len(next),
		Chains: len(table.Chains), Rules: rules, ChainsWritten: chainsTouched, Elements: elemsTouched, StaleFlows: stale,
	}
	p.metrics.syncDuration.WithLabelValues(syncKind(full)).Observe(p.stats.Duration.Seconds())
	p.metrics.rules.Set(float64(rules))
	p.metrics.staleFlows.Add(float64(stale))
	p.log.Info("service proxy synced", "full", full, "duration", p.stats.Duration, "build", built.Sub(start), "changed_services", len(keys),
		"services", len(next), "chains", len(table.Chains), "rules", rules,
		"chains_written", chainsTouched, "elements_changed", elemsTouched, "stale_udp_flows_deleted", stale)
	return nil
}

// logConflicts logs each contested map key once, while it stays contested.
func (p *Proxier) logConflicts(conflicts []conflict) {
	now := map[string]bool{}
	for _, c := range conflicts {
		s := c.String()
		now[s] = true
		if !p.conflicts[s] {
			p.log.Warn(s)
		}
	}
	p.conflicts = now
}

func (p *Proxier) ensureSysctls() {
	bridgeWarned := false
	for _, s := range proxySysctls(p.facts.families) {
		old, changed, err := ensureSysctl(procSys, s)
		switch {
		case errors.Is(err, errBridgeMissing):
			if !bridgeWarned {
				p.log.Warn("br_netfilter is not loaded: pods cannot reach Services whose endpoints share their bridge", "sysctl", s.Name)
				bridgeWarned = true
			}
		case err != nil:
			p.log.Error("could not set a sysctl the service proxy needs", "err", err)
		case changed:
			p.log.Info("changed sysctl", "name", s.Name, "from", old, "to", s.Value)
		}
	}
}

// Cleanup removes the proxy table of the node named nodeName, if it exists, in the
// caller's network namespace.
func Cleanup(nodeName string) error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("service proxy: nftables: %w", err)
	}
	if err := deleteTable(conn, TableName(nodeName)); err != nil {
		return fmt.Errorf("service proxy: %w", err)
	}
	return nil
}
