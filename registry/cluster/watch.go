package cluster

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// watch keeps the mirror of every key under the prefix: a listing, then a
// watch from the listing's revision; any watch error (a member without
// leader, a compaction, a lost connection) starts over with a listing.
func (c *Cluster) watch(ctx context.Context) {
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pause.C:
		}
		if err := c.watchOnce(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug("watch ended, listing again", "error", err)
		}
		pause.Reset(c.keepAliveInterval() / 5)
	}
}

// watchOnce lists the prefix and follows it until the watch fails.
func (c *Cluster) watchOnce(ctx context.Context) error {
	// The watch fails when its member loses the leader, rather than
	// serving a partitioned member's stale keys.
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	lctx, lcancel := context.WithTimeout(ctx, max(c.keepAliveInterval(), c.cfg.DialTimeout))
	resp, err := c.cl.Get(lctx, c.keys.all(), clientv3.WithPrefix())
	lcancel()
	if err != nil {
		return fmt.Errorf("%w: list %s: %w", ErrEtcd, c.keys.all(), err)
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	c.mirror.replace(c.keys, resp.Kvs, rev)
	c.offerHeadLocked()
	c.mu.Unlock()
	c.poke()
	for wr := range c.cl.Watch(ctx, c.keys.all(), clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("%w: watch %s: %w", ErrEtcd, c.keys.all(), err)
		}
		c.mu.Lock()
		headChanged := false
		for _, ev := range wr.Events {
			headChanged = c.mirror.set(c.keys, string(ev.Kv.Key), event(ev)) || headChanged
		}
		c.mirror.dirty = true
		if headChanged {
			c.offerHeadLocked()
		}
		c.mu.Unlock()
		c.poke()
	}
	return ctx.Err()
}
