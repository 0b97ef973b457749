package cluster

import (
	"context"
	"fmt"
	"strings"
)

// Head is a git commit a node published after pushing it.
type Head struct {
	Commit   string
	Node     string // the publishing node
	Revision int64  // etcd revision of the publication
}

// PublishHead records commit as the newest head of the providers' git
// remote, so the other nodes fast-forward at once instead of at their next
// poll. Call it after the push, still under Lock.
func (c *Cluster) PublishHead(ctx context.Context, commit string) error {
	if commit == "" || strings.ContainsAny(commit, " \n") {
		return fmt.Errorf("cluster: publish head: bad commit %q", commit)
	}
	err := c.request(ctx, func(ctx context.Context) error {
		_, err := c.cl.Put(ctx, c.keys.head(), commit+" "+c.cfg.Node)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: publish head %s: %w", ErrEtcd, commit, err)
	}
	return nil
}

// Heads delivers the heads other nodes publish (never this node's own),
// the latest winning when the reader is slow; the one head present when
// the node starts is delivered too. There is one channel per Cluster:
// one reader (the git store) takes from it.
func (c *Cluster) Heads() <-chan Head { return c.heads }

// offerHeadLocked offers the mirrored head when another node published it;
// called under mu.
func (c *Cluster) offerHeadLocked() {
	e := c.mirror.head
	if e.gone {
		return
	}
	commit, node, _ := strings.Cut(e.value, " ")
	if node == c.cfg.Node {
		return
	}
	h := Head{Commit: commit, Node: node, Revision: e.rev}
	select {
	case c.heads <- h:
		return
	default:
	}
	select {
	case <-c.heads:
	default:
	}
	c.heads <- h
}
