package cluster

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trunkd/trunkd/registry/feed"
)

// Head is a git commit a node published after pushing it.
type Head struct {
	Commit string
	Node   string // the publishing node
}

// PublishHead records commit as the newest head of the providers' git
// remote, so the other nodes fast-forward at once instead of at their next
// poll. Call it after the push, still under Lock: the head is written only
// while the node's lock key still exists (one transaction), so a node
// whose lock lapsed with its lease cannot publish over the newer head of
// the next holder, and the published head only moves forward in push
// order. It fails with ErrNotLocked otherwise.
func (c *Cluster) PublishHead(ctx context.Context, commit string) error {
	if commit == "" || strings.ContainsAny(commit, " \n") {
		return fmt.Errorf("cluster: publish head: bad commit %q", commit)
	}
	c.mu.Lock()
	held := c.held
	c.mu.Unlock()
	if held.key == "" {
		return fmt.Errorf("%w: publish head %s", ErrNotLocked, commit)
	}
	var applied bool
	err := c.request(ctx, func(ctx context.Context) error {
		resp, err := c.cl.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(held.key), "=", held.rev)).
			Then(clientv3.OpPut(c.keys.head(), commit+" "+c.cfg.Node)).Commit()
		applied = err == nil && resp.Succeeded
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("%w: publish head %s: %w", ErrEtcd, commit, err)
	case !applied:
		return fmt.Errorf("%w: publish head %s: the lock key is gone", ErrNotLocked, commit)
	}
	return nil
}

// Heads delivers the heads other nodes publish (never this node's own),
// the latest winning when the reader is slow; the one head present when
// the node starts is delivered too. A Head is a hint to sync now, not a
// commit to check out: cmd/trunkd answers each with the git store's
// Trigger, which fetches the branch and moves to the remote's head, so
// even a stale Head never moves a working copy back. There is one channel per Cluster:
// one reader (the git store) takes from it.
func (c *Cluster) Heads() <-chan Head { return c.heads }

// offerHeadLocked offers the mirrored head when another node published it;
// called under mu.
func (c *Cluster) offerHeadLocked() {
	commit, node, _ := strings.Cut(c.mirror.head.value, " ")
	if !c.mirror.head.gone && node != c.cfg.Node {
		feed.Offer(c.heads, Head{Commit: commit, Node: node})
	}
}
