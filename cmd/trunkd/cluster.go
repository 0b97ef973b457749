package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry/cluster"
	"github.com/trunkd/trunkd/registry/feed"
	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/sipcheck"
)

// member is the daemon's membership of a cluster (the cluster: section):
// it runs the cluster on the registry's snapshots, hands each View to the
// renderer and the prober as their ownership, fences the engines the
// moment a View is fenced, and reports back the ownership generation they
// have applied, so the cluster releases a trunk only after this node
// stopped registering it.
type member struct {
	c      *cluster.Cluster
	d      *daemon
	render chan render.Ownership   // the renderer's ownership, if it runs
	probe  chan sipcheck.Ownership // the prober's ownership, if it runs
	r      *render.Renderer        // set by startRender
	pr     *sipcheck.Prober        // set by startProbe
	// leaveWait bounds the handover of a planned stop (leave): twice
	// lease_ttl.
	leaveWait time.Duration
	applied   atomic.Uint64 // last generation reported to the cluster (written by follow only)

	mu      sync.Mutex
	since   time.Time             // when the node fenced; zero while not fenced
	owners  map[string]string     // of the last View seen
	changes []api.OwnershipChange // newest last, at most maxChanges
}

// maxChanges bounds the ownership changes /status and the page show.
const maxChanges = 50

// lockWait bounds the wait for the cluster's write lock: another node's
// write holds it for its commit and push.
const lockWait = 30 * time.Second

// openCluster opens the cluster of the cluster: section; nil without one.
// Nothing runs before start.
func openCluster(d *daemon) (*member, error) {
	if d.cfg.Cluster == nil {
		return nil, nil
	}
	cfg := d.cfg.cluster()
	if err := cfg.Check(); err != nil { // fills the defaults: lease_ttl for leaveWait
		return nil, err
	}
	c, err := cluster.Open(cfg, cluster.Options{Logger: d.log, Registerer: d.prom, Clock: d.clock})
	if err != nil {
		return nil, err
	}
	m := &member{c: c, d: d, leaveWait: 2 * cfg.LeaseTTL,
		render: make(chan render.Ownership, 1), probe: make(chan sipcheck.Ownership, 1)}
	if d.cfg.Git == nil {
		d.log.Warn("cluster without git: API writes change only this node's providers directory; configure git: so that they reach every node",
			"component", "cluster")
	}
	return m, nil
}

// start runs the cluster on the registry's snapshots and follows its
// Views until ctx ends; the API reads the node's state through m. Call it
// once the consumers were started. A nil member (no cluster) does nothing.
func (m *member) start(ctx context.Context, o *api.Options) {
	if m == nil {
		return
	}
	sub := m.d.reg.Subscribe()
	m.d.goRun("cluster", func() error {
		defer sub.Close()
		return m.c.Run(ctx, sub.C())
	})
	views := m.c.Subscribe()
	m.d.goRun("cluster views", func() error {
		defer views.Close()
		m.follow(ctx, views.C())
		return nil
	})
	o.Cluster = m
}

// leave hands the node's trunks over before a planned stop (SIGTERM,
// SIGINT), while ctx still runs the renderer and the prober: the cluster
// publishes a View without the node's trunks, they stop registering them
// and report it applied, only then are the owner keys deleted for the
// other nodes, and the lease is revoked. It is bounded by leaveWait: what
// is not handed over by then (etcd unreachable, a consumer that does not
// apply) moves when the lease expires, as after a crash. serve calls it
// only after a successful start; a nil member does nothing.
func (m *member) leave(ctx context.Context) {
	if m == nil || ctx.Err() != nil {
		return
	}
	log := m.d.log.With("component", "cluster")
	log.Info("leaving the cluster: handing the trunks over", "owned", len(m.c.View().Owned()), "bound", m.leaveWait)
	ctx, cancel := context.WithTimeout(ctx, m.leaveWait)
	defer cancel()
	start := time.Now()
	if err := m.c.Leave(ctx); err != nil {
		log.Warn("leave did not finish: the remaining trunks move when the lease expires", "error", err,
			"after", time.Since(start).Round(time.Millisecond))
		return
	}
	log.Info("left the cluster", "took", time.Since(start).Round(time.Millisecond))
}

// close closes the etcd client once every component stopped. A nil
// member does nothing.
func (m *member) close() {
	if m != nil {
		_ = m.c.Close()
	}
}

// follow hands every View to the consumers and reports to the cluster
// the least ownership generation the last View and every running consumer
// applied, each time one of them moves (the consumers publish it).
func (m *member) follow(ctx context.Context, views <-chan *cluster.View) {
	var gen uint64 // of the last View
	// A consumer that does not run holds nothing back.
	renderGen, probeGen := uint64(math.MaxUint64), uint64(math.MaxUint64)
	var rendered, probed <-chan uint64
	if m.r != nil {
		sub := m.r.SubscribeAppliedOwnership()
		defer sub.Close()
		rendered, renderGen = sub.C(), 0
	}
	if m.pr != nil {
		sub := m.pr.SubscribeAppliedOwnership()
		defer sub.Close()
		probed, probeGen = sub.C(), 0
	}
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-views:
			m.hand(ctx, v)
			gen = v.Generation()
		case renderGen = <-rendered:
		case probeGen = <-probed:
		}
		m.report(min(gen, renderGen, probeGen))
	}
}

// hand gives v to the consumers (latest wins) and fences the engines at
// once when v is fenced.
func (m *member) hand(ctx context.Context, v *cluster.View) {
	m.note(v)
	feed.Offer(m.render, render.Ownership(v))
	feed.Offer(m.probe, sipcheck.Ownership(v))
	if v.Fenced() && m.pr != nil { // now, even while the prober stops trunks
		m.pr.Fence()
	}
	if v.Fenced() && m.r != nil { // now, even while a render is under way
		if err := m.r.Fence(ctx); err != nil {
			m.d.log.Error("fence action failed", "component", "cluster", "error", err)
		}
	}
}

// report tells the cluster gen, the least generation applied by every
// consumer, when it moved.
func (m *member) report(gen uint64) {
	if gen > m.applied.Load() {
		m.applied.Store(gen)
		m.c.Applied(gen)
	}
}

// note records the fenced time and the ownership changes of v.
func (m *member) note(v *cluster.View) {
	now := m.d.clock.Now()
	owners := v.Owners()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case v.Fenced() && m.since.IsZero():
		m.since = now
	case !v.Fenced():
		m.since = time.Time{}
	}
	if m.owners != nil {
		for code, to := range owners {
			if from := m.owners[code]; from != to {
				m.changes = append(m.changes, api.OwnershipChange{Time: now, Code: code, From: from, To: to})
			}
		}
		for code, from := range m.owners {
			if _, ok := owners[code]; !ok {
				m.changes = append(m.changes, api.OwnershipChange{Time: now, Code: code, From: from})
			}
		}
		if n := len(m.changes); n > maxChanges {
			m.changes = slices.Clone(m.changes[n-maxChanges:])
		}
	}
	m.owners = owners
}

// lock takes the cluster's write lock for a git write, bounded by lockWait.
func (m *member) lock(ctx context.Context) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	return m.c.Lock(ctx)
}

// pushed publishes a write's new head so the other nodes fast-forward at
// once; a failure is logged (their poll picks the head up).
func (m *member) pushed(ctx context.Context, head string) {
	if err := m.c.PublishHead(ctx, head); err != nil {
		m.d.log.Warn("cannot publish the new git head; the other nodes find it at their next poll",
			"component", "cluster", "head", head, "error", err)
	}
}

// followHeads triggers a fast-forward of the working copy for every head
// another node published, until ctx ends.
func (m *member) followHeads(ctx context.Context, trigger func()) {
	m.d.goRun("cluster heads", func() error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-m.c.Heads():
				trigger()
			}
		}
	})
}

// Fenced tells whether the node's current View is fenced (api.Cluster).
func (m *member) Fenced() bool { return m.c.View().Fenced() }

// ClusterStatus is the node's cluster state for /status and the page
// (api.Cluster).
func (m *member) ClusterStatus() api.ClusterStatus {
	view, lease := m.c.View(), m.c.Lease()
	owners := view.Owners()
	st := api.ClusterStatus{Node: view.Node(), Group: m.d.cfg.serverIndex(), Fenced: view.Fenced(), FenceReason: view.FenceReason(),
		Lease:      api.LeaseHealth{TTLSeconds: lease.TTL.Seconds(), LastKeepAlive: lease.LastAck, Deadline: lease.Deadline},
		Generation: view.Generation(), Owners: owners}
	per := map[string]int{}
	for _, o := range owners {
		per[o]++
	}
	for _, n := range view.Nodes() {
		st.Nodes = append(st.Nodes, api.ClusterNode{Name: n, Self: n == view.Node(), Trunks: per[n]})
	}
	m.mu.Lock()
	st.Applied = m.applied.Load()
	st.FencedSince, st.Changes = m.since, slices.Clone(m.changes)
	m.mu.Unlock()
	slices.Reverse(st.Changes) // newest first
	return st
}
