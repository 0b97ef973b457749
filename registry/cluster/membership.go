package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrNameTaken is wrapped by the error of a node whose membership key is
// held under another lease: a second process configured with the same
// cluster.node, or this node's previous run whose lease has not expired
// yet. The node stays fenced and retries; it joins once that lease is gone.
var ErrNameTaken = errors.New("cluster: node name in use")

// holderOf is the value of the membership key: the node's name and what
// tells its process apart from another one configured with that name.
func holderOf(node string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "?"
	}
	return fmt.Sprintf("%s host=%s pid=%d", node, host, os.Getpid())
}

// register claims the node's membership key under its lease, once per
// lease: a transaction that puts the key only where it does not exist
// (CreateRevision == 0). A key already under this lease (an earlier attempt
// whose answer was lost) counts as claimed; a key under another lease is
// another process using this node's name, and the node stays fenced
// (ErrNameTaken). A successful claim unfences the node when its deadline
// has not passed.
func (c *Cluster) register(ctx context.Context) error {
	c.mu.Lock()
	id, done := c.ls.id, c.ls.registered || c.leavingLocked()
	c.mu.Unlock()
	if id == 0 || done {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.keepAliveInterval())
	defer cancel()
	key := c.keys.node(c.cfg.Node)
	resp, err := c.cl.Txn(rctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, c.holder, clientv3.WithLease(id))).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return fmt.Errorf("%w: register %s: %w", ErrEtcd, key, err)
	}
	e := entry{value: c.holder, lease: int64(id), rev: resp.Header.Revision}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return fmt.Errorf("%w: register %s: the key vanished during the claim", ErrEtcd, key)
		}
		e = kvEntry(kvs[0])
		if e.lease != int64(id) {
			return c.nameTaken(id, key, e)
		}
	}
	c.joined(id, key, e)
	return nil
}

// joined records the membership key claimed under lease id.
func (c *Cluster) joined(id clientv3.LeaseID, key string, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mirror.set(c.keys, key, e)
	if c.ls.id != id {
		return
	}
	c.ls.registered = true
	if c.ls.conflict != nil {
		c.log.Info("cluster.node free again: the other holder's lease is gone", "node", c.cfg.Node)
		c.ls.conflict = nil
	}
	if c.clock.Now().Before(c.ls.deadline) {
		c.ls.fenced, c.ls.reason = false, ""
		c.log.Info("joined", "group", c.keys.groupName(), "lease", fmt.Sprintf("%x", int64(id)))
	}
	c.publish()
}

// nameTaken records that other holds the membership key: the node stays
// fenced, its View and metrics report the conflict, and the error is logged
// once per holder.
func (c *Cluster) nameTaken(id clientv3.LeaseID, key string, other entry) error {
	err := fmt.Errorf("%w: cluster.node %q is held by another process (%s, lease %x) under %s: "+
		"this node stays fenced and retries; if it was just restarted, that is its previous run and it "+
		"takes over when that lease expires (at most lease_ttl), otherwise give each node its own cluster.node",
		ErrNameTaken, c.cfg.Node, other.value, other.lease, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mirror.set(c.keys, key, other)
	if c.ls.id != id {
		return err
	}
	if c.ls.conflict == nil || c.ls.conflict.Error() != err.Error() {
		c.log.Error("cannot join: node name in use", "node", c.cfg.Node, "holder", other.value,
			"holder_lease", fmt.Sprintf("%x", other.lease), "key", key, "error", err)
		c.ls.conflict, c.ls.reason = err, err.Error()
		c.publish()
	}
	return err
}
