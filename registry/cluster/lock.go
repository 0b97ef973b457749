package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// unlockTimeout bounds the delete of the lock key when unlocking.
const unlockTimeout = 2 * time.Second

// Lock takes the cluster-wide write lock (commit + push + PublishHead go
// under it). It is refused with ErrFenced while the node is fenced. The
// lock is a key under the node's lease in a queue ordered by creation
// revision (etcd's mutex recipe, on this node's own lease): a node that
// dies while holding it releases it when its lease expires. Call unlock
// once the write is done (later calls do nothing).
func (c *Cluster) Lock(ctx context.Context) (unlock func(), err error) {
	select {
	case c.lockSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("cluster: lock: %w", ctx.Err())
	}
	key, err := c.lock(ctx)
	if err != nil {
		if key != "" {
			c.deleteKey(key)
		}
		<-c.lockSem
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.deleteKey(key)
			<-c.lockSem
		})
	}, nil
}

// lock queues the node's key and waits until every older key is gone.
func (c *Cluster) lock(ctx context.Context) (string, error) {
	id, err := c.unfencedLease()
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("%s%s/%x", c.keys.lockPrefix(), c.cfg.Node, int64(id))
	resp, err := c.cl.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, "", clientv3.WithLease(id))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return "", fmt.Errorf("%w: lock: %w", ErrEtcd, err)
	}
	myRev := resp.Header.Revision
	if !resp.Succeeded {
		myRev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	if err := c.waitOlder(ctx, myRev); err != nil {
		return key, err
	}
	// The lease may have run out while waiting: the key must still be ours.
	if _, err := c.unfencedLease(); err != nil {
		return key, err
	}
	g, err := c.cl.Get(ctx, key)
	if err != nil {
		return key, fmt.Errorf("%w: lock: %w", ErrEtcd, err)
	}
	if len(g.Kvs) == 0 || g.Kvs[0].CreateRevision != myRev {
		return key, fmt.Errorf("%w: lock: lock key lost while waiting", ErrFenced)
	}
	return key, nil
}

// unfencedLease returns the lease, or ErrFenced.
func (c *Cluster) unfencedLease() (clientv3.LeaseID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ls.fenced || c.ls.id == 0 {
		return 0, fmt.Errorf("cluster: lock: %w", ErrFenced)
	}
	return c.ls.id, nil
}

// waitOlder returns once no lock key created before myRev remains,
// waiting for the newest older one at a time.
func (c *Cluster) waitOlder(ctx context.Context, myRev int64) error {
	for {
		opts := append([]clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithMaxCreateRev(myRev - 1)},
			clientv3.WithLastCreate()...)
		resp, err := c.cl.Get(ctx, c.keys.lockPrefix(), opts...)
		if err != nil {
			return fmt.Errorf("%w: lock: %w", ErrEtcd, err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if err := c.waitDelete(ctx, string(resp.Kvs[0].Key), resp.Header.Revision); err != nil {
			return err
		}
	}
}

// waitDelete returns once key is deleted after revision rev, or after a
// few keep-alive intervals (the caller looks again: a watch on a member cut
// off by a hung connection would wait for gRPC's keep-alive otherwise).
func (c *Cluster) waitDelete(ctx context.Context, key string, rev int64) error {
	wctx, cancel := context.WithTimeout(c.watchContext(ctx), 4*c.keepAliveInterval())
	defer cancel()
	for wr := range c.cl.Watch(wctx, key, clientv3.WithRev(rev+1)) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("%w: lock: %w", ErrEtcd, err)
		}
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cluster: lock: %w", err)
	}
	return nil
}

// deleteKey removes a lock key, best effort (it goes with the lease anyway).
func (c *Cluster) deleteKey(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	if _, err := c.cl.Delete(ctx, key); err != nil {
		c.log.Warn("unlock: lock key stays until the lease expires", "key", key, "error", err)
	}
}
