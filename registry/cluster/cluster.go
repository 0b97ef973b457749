package cluster

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/feed"
)

// Sentinel errors; the methods wrap them with %w.
var (
	// ErrFenced: the node cannot prove its lease alive (or has not joined
	// yet); writes are refused.
	ErrFenced = errors.New("cluster: node is fenced")
	// ErrEtcd: etcd could not be reached or refused a request.
	ErrEtcd = errors.New("cluster: etcd")
	// ErrNotLocked: PublishHead was called without holding Lock, or the
	// node's lock key is gone (its lease expired: another node may hold
	// the lock and have published a newer head).
	ErrNotLocked = errors.New("cluster: write lock not held")
)

// Clock is the cluster's source of time for the lease deadline and the
// times in a View. Waits use real timers; a clock must advance like the
// real one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options are what the daemon passes to Open besides the config.
type Options struct {
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	Clock      Clock                 // nil: the real clock
}

// Cluster is this node's membership in a trunkd cluster: its lease, the
// live nodes of its group, the owners of the group's trunks, the write lock
// and the published git head. Open creates it, Run runs it.
type Cluster struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	cl    *clientv3.Client // watch, transactions, lock, head
	lease *clientv3.Client // grant and keep-alives only (see newClients)
	m     *metrics
	reg   prometheus.Registerer
	keys  keys
	// holder is the value of the membership key (holderOf).
	holder string

	watches atomic.Uint64 // numbers each watch's own gRPC stream
	kick    chan struct{} // capacity 1: the state changed, reconcile
	heads   chan Head     // capacity 1, latest wins
	lockSem chan struct{} // capacity 1: one Lock per node at a time
	held    lockKey       // the lock key while Lock is held (under mu)

	reconcileFailing bool // the last pass failed (reconcile loop only)

	mu      sync.Mutex
	ls      leaseState
	mirror  mirror
	active  []string          // active codes of the group, sorted
	owned   map[string]bool   // owned codes in the published view
	release map[string]uint64 // code removed from the view → generation to be applied before the key goes
	// unsure: code → mod revision of the owner key a delete was sent for
	// whose outcome is unknown (it timed out); not owned until known
	unsure  map[string]int64
	applied uint64 // highest generation the consumer applied
	changes uint64
	views   feed.Feed[*View] // every View, published under mu; the last is the current one
	left    chan struct{}    // made by Leave, closed when the node holds nothing
	// staleLocks: lock keys unlock could not delete;
	// the reconcile loop and the next Lock delete them.
	staleLocks map[lockKey]struct{}
}

// Open checks cfg and creates the etcd client; it does not wait for etcd
// (a node starts fenced and joins when etcd answers). Close releases the
// client.
func Open(cfg Config, o Options) (*Cluster, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cl, lease, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, log: cmp.Or(o.Logger, slog.Default()).With("component", "cluster"),
		clock: cmp.Or[Clock](o.Clock, realClock{}), cl: cl, lease: lease,
		reg: o.Registerer, keys: keys{prefix: cfg.Prefix, group: cfg.Group}, holder: holderOf(cfg.Node),
		kick: make(chan struct{}, 1), heads: make(chan Head, 1), lockSem: make(chan struct{}, 1),
		mirror: newMirror(), owned: map[string]bool{}, release: map[string]uint64{},
		unsure: map[string]int64{}, staleLocks: map[lockKey]struct{}{}}
	c.ls.fenced, c.ls.reason = true, "not joined yet: waiting for etcd"
	c.ls.timer = time.AfterFunc(time.Hour, c.checkFence) // armed by every acknowledged keep-alive
	c.ls.timer.Stop()
	c.views.Publish(c.buildView(0))
	c.m = newMetrics(c)
	if o.Registerer != nil {
		if err := o.Registerer.Register(c.m); err != nil {
			cl.Close()
			lease.Close()
			return nil, fmt.Errorf("register cluster metrics: %w", err)
		}
	}
	return c, nil
}

// newClients creates two etcd clients on the same endpoints, one for the
// lease alone. A client spreads its requests round-robin over its
// connections, and a connection to a member cut off without a reset stays
// in the rotation until gRPC's keep-alive drops it (10 s at the least):
// sharing one rotation, the periodic keep-alives and the reconcile loop's
// retries fell into a rhythm in which every transaction met the hung member.
func newClients(cfg Config) (*clientv3.Client, *clientv3.Client, error) {
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	var cls []*clientv3.Client
	for range 2 {
		cl, err := clientv3.New(clientv3.Config{Endpoints: cfg.Endpoints, DialTimeout: cfg.DialTimeout,
			TLS: tlsCfg, Logger: zap.NewNop(), DialKeepAliveTime: 10 * time.Second, DialKeepAliveTimeout: cfg.LeaseTTL / 3})
		if err != nil {
			for _, c := range cls {
				c.Close()
			}
			return nil, nil, fmt.Errorf("%w: client for %v: %w", ErrEtcd, cfg.Endpoints, err)
		}
		cls = append(cls, cl)
	}
	return cls[0], cls[1], nil
}

// tlsConfig loads the client TLS files; nil without any.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.CertFile == "" {
		return nil, nil
	}
	info := transport.TLSInfo{TrustedCAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
	t, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: cluster.etcd TLS files: %w", ErrConfig, err)
	}
	return t, nil
}

// Close closes the etcd client and unregisters the metrics; call it after
// Run returned.
func (c *Cluster) Close() error {
	if c.reg != nil {
		c.reg.Unregister(c.m)
	}
	return errors.Join(c.cl.Close(), c.lease.Close())
}

// Run keeps the lease, mirrors the cluster's keys and claims and releases
// the trunks of the active providers of every snapshot from snaps, until
// ctx ends. It owns every goroutine of the cluster. When it returns the
// node's keys stay until its lease expires (LeaseTTL): the engine must be
// fenced first (see the package doc on shutdown).
func (c *Cluster) Run(ctx context.Context, snaps <-chan *registry.Snapshot) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { c.keepLease(ctx) })
	wg.Go(func() { c.watch(ctx) })
	c.reconcileLoop(ctx, snaps)
	cancel()
	wg.Wait()
	c.ls.timer.Stop()
	return nil
}

// View returns the current View.
func (c *Cluster) View() *View {
	v, _ := c.views.Last() // Open published the first
	return v
}

// Lease returns the health of this node's lease now (a View is not
// republished for every keep-alive).
func (c *Cluster) Lease() Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaseLocked()
}

func (c *Cluster) leaseLocked() Lease {
	return Lease{ID: int64(c.ls.id), TTL: c.ls.ttl, LastAck: c.ls.lastAck, Deadline: c.ls.deadline}
}

// Applied tells the cluster that the consumer (the renderer) has applied
// every View up to generation gen: trunks given up in those Views are no
// longer registered here, so their owner keys may be deleted for the new
// owner. Without it a trunk never moves away from this node while it is
// alive.
func (c *Cluster) Applied(gen uint64) {
	c.mu.Lock()
	if gen > c.applied {
		c.applied = gen
	}
	c.mu.Unlock()
	c.poke()
}

// poke asks the reconcile loop for a pass.
func (c *Cluster) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// publish builds and offers the next View; called under mu.
func (c *Cluster) publish() {
	c.views.Publish(c.buildView(c.View().gen + 1))
}

// buildView assembles a View of the current state; called under mu.
func (c *Cluster) buildView(gen uint64) *View {
	v := &View{node: c.cfg.Node, gen: gen, fenced: c.ls.fenced, owners: make(map[string]string, len(c.active)),
		nodes: c.mirror.liveNodes(), changes: c.changes, lease: c.leaseLocked(), conflict: c.ls.conflict}
	if c.ls.fenced {
		v.reason = c.ls.reason
	} else {
		v.owned = maps.Clone(c.owned)
	}
	for _, code := range c.active {
		if e, ok := c.mirror.owners[code]; ok && !e.gone {
			v.owners[code] = e.value
		} else {
			v.unowned++
		}
	}
	return v
}
