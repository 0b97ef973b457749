package cluster

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Leave hands this node's trunks over before a planned stop, while Run
// runs: the node deletes its membership key (the others' rendezvous choice
// no longer includes it), publishes a View without its trunks, deletes
// each owner key once the consumer applied that View (Applied), then
// revokes its lease and stays fenced. It returns when all that is done or
// ctx ends; cancel Run afterwards. Without Leave a stopped node's trunks
// move when its lease expires.
func (c *Cluster) Leave(ctx context.Context) error {
	c.mu.Lock()
	if c.left == nil {
		c.left = make(chan struct{})
	}
	left := c.left
	if !c.ls.registered { // not a member (not joined, or the name is taken): it holds no owner key
		c.closeLeftLocked()
	}
	c.mu.Unlock()
	c.poke()
	select {
	case <-left:
	case <-ctx.Done():
		return fmt.Errorf("cluster: leave: %w", ctx.Err())
	}
	id, _ := c.leaseAndLeaving()
	if id == 0 {
		return nil
	}
	if _, err := c.cl.Revoke(ctx, id); err != nil {
		return fmt.Errorf("%w: leave: revoke lease: %w", ErrEtcd, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ls.id == id {
		c.ls.id, c.ls.registered = 0, false
		c.fenceLocked("left the cluster")
	}
	return nil
}

// leavingLocked reports whether Leave was called; called under mu.
func (c *Cluster) leavingLocked() bool { return c.left != nil }

// deregister deletes the membership key once Leave was called.
func (c *Cluster) deregister(ctx context.Context) error {
	c.mu.Lock()
	id, leaving, member := c.ls.id, c.leavingLocked(), c.ls.registered && !c.ls.deregistered
	c.mu.Unlock()
	if id == 0 || !leaving || !member {
		return nil
	}
	key := c.keys.node(c.cfg.Node)
	dctx, cancel := context.WithTimeout(ctx, c.keepAliveInterval())
	defer cancel()
	resp, err := c.cl.Txn(dctx).If(clientv3.Compare(clientv3.LeaseValue(key), "=", id)).
		Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		return fmt.Errorf("%w: leave: delete %s: %w", ErrEtcd, key, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ls.deregistered = true
	c.mirror.set(c.keys, key, entry{rev: resp.Header.Revision, gone: true})
	c.mirror.dirty = true
	return nil
}

// checkLeftLocked closes the Leave channel once the node is no member and
// holds no owner key; called under mu.
func (c *Cluster) checkLeftLocked(held func(string) bool) {
	// A delete of unknown outcome may have left a key.
	if !c.ls.deregistered || len(c.unsure) > 0 {
		return
	}
	for code := range c.mirror.owners {
		if held(code) {
			return
		}
	}
	c.closeLeftLocked()
}

// closeLeftLocked ends a Leave, if one runs: it closes the Leave channel
// once; called under mu.
func (c *Cluster) closeLeftLocked() {
	if c.left == nil {
		return
	}
	select {
	case <-c.left:
	default:
		close(c.left)
	}
}
