package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

// watch keeps the mirror of every key under the prefix: a listing, then a
// watch from the listing's revision; any watch error (a member without
// leader, a compaction, a lost connection) starts over with a listing.
func (c *Cluster) watch(ctx context.Context) {
	for ctx.Err() == nil {
		if err := c.watchOnce(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug("watch ended, listing again", "error", err)
		}
		sleep(ctx, c.keepAliveInterval()/5)
	}
}

// watchOnce lists the prefix and follows it until the watch fails.
func (c *Cluster) watchOnce(ctx context.Context) error {
	ctx, cancel := context.WithCancel(c.watchContext(ctx))
	defer cancel()
	lctx, lcancel := context.WithTimeout(ctx, max(c.keepAliveInterval(), c.cfg.DialTimeout))
	resp, err := c.cl.Get(lctx, c.keys.all(), clientv3.WithPrefix())
	lcancel()
	if err != nil {
		return fmt.Errorf("%w: list %s: %w", ErrEtcd, c.keys.all(), err)
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	if c.mirror.replace(c.keys, resp.Kvs, rev) {
		c.offerHeadLocked()
	}
	c.mu.Unlock()
	c.poke()
	// Watch blocks until its gRPC stream is open; on a hung member that
	// can take until gRPC's keep-alive gives up.
	stuck := time.AfterFunc(2*c.keepAliveInterval(), cancel)
	wch := c.cl.Watch(ctx, c.keys.all(), clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	if !stuck.Stop() {
		return errStalled
	}
	return c.follow(ctx, wch)
}

// watchContext marks a watch's context so that it fails when its member
// loses the leader (rather than serving a partitioned member's stale keys)
// and runs on a gRPC stream of its own: the client shares one stream per
// context metadata, and a new watch would queue behind a stream stuck on
// a hung member.
func (c *Cluster) watchContext(ctx context.Context) context.Context {
	n := c.watches.Add(1)
	return metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "trunkd-watch", strconv.FormatUint(n, 10))
}

// errStalled ends a watch whose stream does not answer.
var errStalled = errors.New("watch stalled: its stream does not answer")

// follow applies the watch's events to the mirror. A member cut off by a
// hung connection (no reset) delivers nothing and no error until gRPC's
// keep-alive gives up, after 10 s or more, while the other members serve:
// after stallAfter without any response it requests a progress
// notification, and when that goes unanswered for stallAfter it gives up
// so the caller lists again through another member.
func (c *Cluster) follow(ctx context.Context, wch clientv3.WatchChan) error {
	stallAfter := 2 * c.keepAliveInterval()
	tick := time.NewTicker(stallAfter / 2)
	defer tick.Stop()
	last, asked := time.Now(), time.Time{}
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				return ctx.Err()
			}
			if err := wr.Err(); err != nil {
				return fmt.Errorf("%w: watch %s: %w", ErrEtcd, c.keys.all(), err)
			}
			last, asked = time.Now(), time.Time{}
			c.apply(wr.Events)
		case <-tick.C:
			switch {
			case time.Since(last) < stallAfter:
			case asked.IsZero():
				asked = time.Now()
				rctx, cancel := context.WithTimeout(ctx, stallAfter)
				_ = c.cl.RequestProgress(rctx)
				cancel()
			case time.Since(asked) >= stallAfter:
				return errStalled
			}
		}
	}
}

// apply records watch events in the mirror and asks for a reconcile pass.
func (c *Cluster) apply(events []*clientv3.Event) {
	if len(events) == 0 {
		return
	}
	c.mu.Lock()
	headChanged := false
	for _, ev := range events {
		headChanged = c.mirror.set(c.keys, string(ev.Kv.Key), event(ev)) || headChanged
	}
	c.mirror.dirty = true
	if headChanged {
		c.offerHeadLocked()
	}
	c.mu.Unlock()
	c.poke()
}
