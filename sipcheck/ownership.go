package sipcheck

import (
	"context"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/feed"
)

// Ownership says which trunks this node owns in a cluster (the same
// shape render consumes): Options.Ownership delivers it.
type Ownership interface {
	Owns(code string) bool // this node registers the trunk
	Fenced() bool          // this node may register nothing
	Generation() uint64    // increases with every new ownership
}

// binds reports whether the prober holds a binding for the trunk with
// code: in bind mode, when the node is alone or owns the trunk and is
// not fenced, and no Fence stands. Before the first ownership a cluster
// node binds nothing.
func (p *Prober) binds(code string) bool {
	if p.set.registerMode != ModeBind {
		return false
	}
	if fenced, _ := p.fenceState(); fenced {
		return false
	}
	if p.opts.Ownership == nil {
		return true
	}
	return p.own != nil && !p.own.Fenced() && p.own.Owns(code)
}

// follow makes own the ownership the trunks follow: a trunk whose binding
// changes restarts (one that lost it un-registers, Expires: 0, before
// follow returns), so the applied ownership says what the registrar was told.
// An ownership that is not fenced lifts a Fence that came before seq.
func (p *Prober) follow(ctx context.Context, own Ownership, snap *registry.Snapshot, seq uint64) {
	p.own = own
	if !own.Fenced() {
		p.unfence(seq)
	}
	if snap != nil {
		p.reconcile(ctx, snap)
		return
	}
	p.setApplied(own.Generation())
}

// SubscribeAppliedOwnership delivers the generation of the ownership the
// prober's bindings follow (Status.OwnershipGeneration) every time it
// moves, latest wins (the current value at once once there is one), as
// render.Renderer's does: every binding of a trunk that ownership does
// not give this node has been removed (or its removal given up after
// 3 × timeout, when it expires by itself). 0 before the first, and
// without Options.Ownership.
func (p *Prober) SubscribeAppliedOwnership() *feed.Subscription[uint64] {
	return p.applied.Subscribe()
}

// setApplied publishes gen as the applied ownership when it moved; Run's
// goroutine only.
func (p *Prober) setApplied(gen uint64) {
	if last, ok := p.applied.Last(); !ok || gen != last {
		p.applied.Publish(gen)
	}
}

// ownGeneration is own's generation, 0 for nil.
func ownGeneration(own Ownership) uint64 {
	if own == nil {
		return 0
	}
	return own.Generation()
}
