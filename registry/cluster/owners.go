package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trunkd/trunkd/registry"
)

// maxBatch is the number of keys claimed or deleted per transaction
// (etcd's default --max-txn-ops is 128).
const maxBatch = 100

// owner returns the rendezvous (highest random weight) choice among nodes
// for code: the node with the highest hash of (node, code), ties by name.
// Every node computes the same answer from the same live set; a change of
// the set moves only the trunks of the nodes that came or went.
func owner(code string, nodes []string) string {
	var best string
	var bestScore uint64
	for _, n := range nodes {
		s := score(n, code)
		if best == "" || s > bestScore || (s == bestScore && n < best) {
			best, bestScore = n, s
		}
	}
	return best
}

// score is FNV-1a of node NUL code, finished by splitmix64's mixer so close
// names spread evenly.
func score(node, code string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(code))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// activeCodes returns the sorted codes of the snapshot's providers active
// in the group.
func activeCodes(s *registry.Snapshot, group int) []string {
	var codes []string
	for _, p := range s.Providers() {
		if p.Active(group) {
			codes = append(codes, p.Code)
		}
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// reconcileLoop runs a reconcile pass on every snapshot, every state change
// and, after a failed pass, again after a fifth of the keep-alive interval
// (each request is bounded by the interval).
func (c *Cluster) reconcileLoop(ctx context.Context, snaps <-chan *registry.Snapshot) {
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-snaps:
			if !ok {
				snaps = nil
				continue
			}
			c.setActive(activeCodes(s, c.cfg.Group))
		case <-c.kick:
		case <-retry.C:
		}
		err := c.reconcile(ctx)
		if ctx.Err() != nil {
			return
		}
		c.noteReconcile(err)
		switch {
		case errors.Is(err, ErrNameTaken): // the watch pokes when the holder's key goes
			retry.Reset(c.keepAliveInterval())
		case err != nil:
			retry.Reset(c.keepAliveInterval() / 5)
		}
	}
}

// noteReconcile logs the first failure of a streak and its end
// (register logs a name conflict itself).
func (c *Cluster) noteReconcile(err error) {
	if errors.Is(err, ErrNameTaken) {
		return
	}
	switch {
	case err != nil && !c.reconcileFailing:
		c.log.Warn("cannot bring owner keys in line, retrying", "error", err)
	case err == nil && c.reconcileFailing:
		c.log.Info("owner keys in line again")
	}
	c.reconcileFailing = err != nil
}

func (c *Cluster) setActive(codes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Equal(codes, c.active) {
		return
	}
	c.active = codes
	c.publish()
}

// plan is one pass's work on etcd.
type plan struct {
	lease   clientv3.LeaseID
	claims  []string         // wanted here, no owner key
	deletes []string         // given up here, the consumer applied a View without them
	revs    map[string]int64 // code → mod revision of the key each delete is for
}

// reconcile registers the node, then brings its owned set and owner keys
// in line with the rendezvous choice over the live nodes: first the View
// (give up at once, take only what it holds), then the keys.
func (c *Cluster) reconcile(ctx context.Context) error {
	if err := c.register(ctx); err != nil {
		return err
	}
	if err := c.deregister(ctx); err != nil {
		return err
	}
	p := c.plan()
	if p.lease == 0 {
		return nil
	}
	delErr := c.txnEach(ctx, p.lease, p.deletes, c.deleteOp(p.lease, p.revs), p.revs)
	claimErr := c.txnEach(ctx, p.lease, p.claims, c.claimOp(p.lease), nil)
	if len(p.deletes)+len(p.claims) > 0 {
		c.plan()
	}
	return cmp.Or(delErr, claimErr, c.dropStaleLocks(ctx))
}

// plan updates the published owned set and returns the keys to claim and
// delete; a zero lease when the node is fenced or not registered.
func (c *Cluster) plan() plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.ls.id
	if id == 0 || !c.ls.registered || c.ls.fenced {
		return plan{}
	}
	c.settleUnsureLocked()
	held, want := c.heldLocked(id), c.wantedLocked()
	p := plan{lease: id, claims: c.updateOwnedLocked(held, want)}
	p.deletes, p.revs = c.releasesLocked(held, want)
	c.checkLeftLocked(held)
	return p
}

// heldLocked returns whether this node holds a code's owner key under its
// lease id, with no delete of unknown outcome pending; called under mu.
func (c *Cluster) heldLocked(id clientv3.LeaseID) func(code string) bool {
	return func(code string) bool {
		e, ok := c.mirror.owners[code]
		_, unsure := c.unsure[code]
		return ok && !e.gone && e.lease == int64(id) && !unsure
	}
}

// updateOwnedLocked gives up the owned codes the node no longer holds or
// wants, then owns the wanted ones it holds, and publishes a View when
// that (or the mirror) changed. It returns the wanted codes without an
// owner key, sorted: the claims. Called under mu.
func (c *Cluster) updateOwnedLocked(held func(string) bool, want map[string]bool) []string {
	changed := c.mirror.dirty
	c.mirror.dirty = false
	for code := range c.owned { // give up first
		if !held(code) || !want[code] {
			delete(c.owned, code)
			c.changes++
			changed = true
		}
	}
	var claims []string
	for code := range want {
		e, ok := c.mirror.owners[code]
		switch {
		case held(code) && !c.owned[code]:
			c.owned[code] = true
			c.changes++
			changed = true
		case !ok || e.gone:
			claims = append(claims, code)
		}
	}
	if changed {
		c.publish()
	}
	slices.Sort(claims)
	return claims
}

// settleUnsureLocked forgets the deletes of unknown outcome whose key the
// mirror shows changed since (deleted, or put again); called under mu.
func (c *Cluster) settleUnsureLocked() {
	maps.DeleteFunc(c.unsure, func(code string, rev int64) bool {
		e, ok := c.mirror.owners[code]
		return !ok || e.rev != rev
	})
}

// wantedLocked returns the active codes the rendezvous choice over the
// live nodes gives this node (none once it is leaving); called under mu.
func (c *Cluster) wantedLocked() map[string]bool {
	want := make(map[string]bool, len(c.owned))
	if c.leavingLocked() {
		return want
	}
	live := c.mirror.liveNodes()
	for _, code := range c.active {
		if owner(code, live) == c.cfg.Node {
			want[code] = true
		}
	}
	return want
}

// releasesLocked returns the held keys whose trunk the consumer no longer
// registers (each waits for the first View without it to be applied) and
// the keys of deletes of unknown outcome, sent again until one answers,
// with the mod revision each delete is for.
func (c *Cluster) releasesLocked(held func(string) bool, want map[string]bool) ([]string, map[string]int64) {
	revs := maps.Clone(c.unsure)
	for code, e := range c.mirror.owners {
		if !held(code) || want[code] {
			delete(c.release, code)
			continue
		}
		gen, ok := c.release[code]
		if !ok {
			gen = c.View().gen // the published View lacks code
			c.release[code] = gen
		}
		if c.applied >= gen {
			revs[code] = e.rev
		}
	}
	maps.DeleteFunc(c.release, func(code string, _ uint64) bool { return !held(code) })
	return slices.Sorted(maps.Keys(revs)), revs
}

// claimOp claims a code for the node unless it has an owner key.
func (c *Cluster) claimOp(lease clientv3.LeaseID) func(string) clientv3.Op {
	return func(code string) clientv3.Op {
		key := c.keys.owner(code)
		return clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
			[]clientv3.Op{clientv3.OpPut(key, c.cfg.Node, clientv3.WithLease(lease))},
			[]clientv3.Op{clientv3.OpGet(key)})
	}
}

// deleteOp deletes a code's owner key if it is still the one the node
// put (its lease, the mod revision in revs): a delete applied late never
// takes a key the node claimed again since.
func (c *Cluster) deleteOp(lease clientv3.LeaseID, revs map[string]int64) func(string) clientv3.Op {
	return func(code string) clientv3.Op {
		key := c.keys.owner(code)
		return clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.LeaseValue(key), "=", lease),
			clientv3.Compare(clientv3.ModRevision(key), "=", revs[code])},
			[]clientv3.Op{clientv3.OpDelete(key)},
			[]clientv3.Op{clientv3.OpGet(key)})
	}
}

// txnEach runs op for every code in transactions of maxBatch nested
// transactions and records each outcome in the mirror. A batch of deletes
// (revs set) whose outcome is unknown leaves its codes unsure.
func (c *Cluster) txnEach(ctx context.Context, lease clientv3.LeaseID, codes []string,
	op func(string) clientv3.Op, revs map[string]int64) error {
	for batch := range slices.Chunk(codes, maxBatch) {
		ops := make([]clientv3.Op, len(batch))
		for i, code := range batch {
			ops[i] = op(code)
		}
		tctx, cancel := context.WithTimeout(ctx, c.keepAliveInterval())
		resp, err := c.cl.Txn(tctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			c.markUnsure(batch, revs)
			return fmt.Errorf("%w: transaction on %d owner keys: %w", ErrEtcd, len(batch), err)
		}
		c.recordTxn(batch, lease, resp)
	}
	return nil
}

// recordTxn writes the outcome of a batch into the mirror: a successful
// claim is this node's key, a successful delete a tombstone, a failed one
// whatever the key holds now.
func (c *Cluster) recordTxn(batch []string, lease clientv3.LeaseID, resp *clientv3.TxnResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev := resp.Header.Revision
	for i, code := range batch {
		delete(c.unsure, code) // its outcome is known now
		sub := resp.Responses[i].GetResponseTxn().Responses[0]
		e := entry{rev: rev, gone: true} // deleted, or no key left to compare
		switch kvs := sub.GetResponseRange().GetKvs(); {
		case sub.GetResponsePut() != nil:
			e = entry{value: c.cfg.Node, lease: int64(lease), rev: rev}
		case len(kvs) > 0:
			e = kvEntry(kvs[0])
		}
		c.mirror.set(c.keys, c.keys.owner(code), e)
	}
	c.mirror.dirty = true
}

// markUnsure records the deletes of batch, whose outcome is unknown, as
// unsure: the node does not own those trunks again before a delete of the
// key answers or the mirror shows the key changed. A failed claim needs
// nothing: a claim applied late puts a key the node's watch then shows.
func (c *Cluster) markUnsure(batch []string, revs map[string]int64) {
	if revs == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, code := range batch {
		c.unsure[code] = revs[code]
	}
}
