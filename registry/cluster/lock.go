package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unlockTimeout bounds the attempts to delete the lock key when unlocking;
// a key still there after it is left to the reconcile loop.
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
	k, err := c.lock(ctx)
	if err != nil {
		if k.key != "" {
			c.unlock(k)
		}
		<-c.lockSem
		return nil, err
	}
	c.setHeld(k)
	return sync.OnceFunc(func() {
		c.setHeld(lockKey{})
		c.unlock(k)
		<-c.lockSem
	}), nil
}

// lockKey is a held lock's key and its creation revision.
type lockKey struct {
	key string
	rev int64
}

func (c *Cluster) setHeld(k lockKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = k
}

// lock queues the node's key and waits until every older key is gone.
func (c *Cluster) lock(ctx context.Context) (lockKey, error) {
	id, err := c.unfencedLease()
	if err != nil {
		return lockKey{}, err
	}
	// A key of an earlier Lock whose unlock failed must go first: taken
	// over, it would be deleted under this Lock by the reconcile loop.
	if err := c.dropStaleLocks(ctx); err != nil {
		return lockKey{}, err
	}
	k := lockKey{key: fmt.Sprintf("%s%s/%x", c.keys.lockPrefix(), c.cfg.Node, int64(id))}
	if k.rev, err = c.putLockKey(ctx, k.key, id); err != nil {
		return lockKey{}, err
	}
	if err := c.waitOlder(ctx, k.rev); err != nil {
		return k, err
	}
	return k, c.stillHeld(ctx, k)
}

// putLockKey creates the lock key under the lease id (a repeat of the
// request finds it) and returns its creation revision: the place in the
// queue.
func (c *Cluster) putLockKey(ctx context.Context, key string, id clientv3.LeaseID) (int64, error) {
	var resp *clientv3.TxnResponse
	err := c.request(ctx, func(ctx context.Context) (err error) {
		resp, err = c.cl.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, "", clientv3.WithLease(id))).
			Else(clientv3.OpGet(key)).Commit()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%w: lock: %w", ErrEtcd, err)
	}
	if !resp.Succeeded {
		return resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision, nil
	}
	return resp.Header.Revision, nil
}

// stillHeld checks, after the wait, that the lease is alive and the lock
// key is still k: the lease may have run out while waiting.
func (c *Cluster) stillHeld(ctx context.Context, k lockKey) error {
	if _, err := c.unfencedLease(); err != nil {
		return err
	}
	var g *clientv3.GetResponse
	err := c.request(ctx, func(ctx context.Context) (err error) {
		g, err = c.cl.Get(ctx, k.key)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: lock: %w", ErrEtcd, err)
	}
	if len(g.Kvs) == 0 || g.Kvs[0].CreateRevision != k.rev {
		return fmt.Errorf("%w: lock: lock key lost while waiting", ErrFenced)
	}
	return nil
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
		var resp *clientv3.GetResponse
		err := c.request(ctx, func(ctx context.Context) (err error) {
			resp, err = c.cl.Get(ctx, c.keys.lockPrefix(), opts...)
			return err
		})
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

// unlock deletes the lock key k. Each attempt is bounded by
// the keep-alive interval and goes to the next member (a member cut off by
// a hung connection must not keep the key), for up to unlockTimeout. A
// key still there is handed to the reconcile loop: under the node's live
// lease it would hold every other node's writes for as long as the node
// runs.
func (c *Cluster) unlock(k lockKey) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	err := c.deleteLockKey(ctx, k)
	for err != nil && sleep(ctx, c.keepAliveInterval()/5) {
		err = c.deleteLockKey(ctx, k)
	}
	if err == nil {
		return
	}
	c.log.Warn("unlock: lock key not deleted yet; retrying with the reconcile loop", "key", k.key, "error", err)
	c.mu.Lock()
	c.staleLocks[k] = struct{}{}
	c.mu.Unlock()
	c.poke()
}

// deleteLockKey deletes k's key if it is still the one created at k.rev,
// in one request bounded by the keep-alive interval.
func (c *Cluster) deleteLockKey(ctx context.Context, k lockKey) error {
	dctx, cancel := context.WithTimeout(ctx, c.keepAliveInterval())
	defer cancel()
	_, err := c.cl.Txn(dctx).If(clientv3.Compare(clientv3.CreateRevision(k.key), "=", k.rev)).
		Then(clientv3.OpDelete(k.key)).Commit()
	if err != nil {
		return fmt.Errorf("%w: unlock: delete %s: %w", ErrEtcd, k.key, err)
	}
	return nil
}

// dropStaleLocks deletes the lock keys unlock could not delete (each only
// while it is still the key of that Lock).
func (c *Cluster) dropStaleLocks(ctx context.Context) error {
	c.mu.Lock()
	stale := slices.Collect(maps.Keys(c.staleLocks))
	c.mu.Unlock()
	for _, k := range stale {
		if err := c.deleteLockKey(ctx, k); err != nil {
			return err
		}
		c.mu.Lock()
		delete(c.staleLocks, k)
		c.mu.Unlock()
	}
	return nil
}

// request runs one etcd request that may run twice as attempts, each
// bounded by the keep-alive interval, until ctx ends: an attempt that
// timed out or found its member or the cluster unavailable (see
// unavailable) is made again after a fifth of the interval, and goes to
// the next member of the client's rotation.
// A member cut off by a hung connection stays in that rotation until
// gRPC's keep-alive drops it (10 s at the least); it costs a request one
// interval instead of the caller's whole deadline.
func (c *Cluster) request(ctx context.Context, do func(context.Context) error) error {
	for {
		rctx, cancel := context.WithTimeout(ctx, c.keepAliveInterval())
		err := do(rctx)
		timedOut := rctx.Err() != nil
		cancel()
		if err == nil || ctx.Err() != nil || !timedOut && !unavailable(err) {
			return err
		}
		if !sleep(ctx, c.keepAliveInterval()/5) {
			return err
		}
	}
}

// unavailable tells whether err says etcd could not serve the request for
// now: gRPC's Unavailable from a member's connection, or the server's
// answers of that code during an election ("no leader", "leader changed",
// "request timed out"), which the client hands on as rpctypes.EtcdError —
// a type without a gRPC status, so status.Code alone calls them Unknown
// and a write lock taken during an election would fail at once.
func unavailable(err error) bool {
	if ee, ok := errors.AsType[rpctypes.EtcdError](err); ok {
		return ee.Code() == codes.Unavailable
	}
	return status.Code(err) == codes.Unavailable
}
