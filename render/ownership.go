package render

import "github.com/trunkd/trunkd/registry/feed"

// Ownership says which trunks this node registers: in a cluster, each
// active trunk of a group has one owner. Run takes it from
// Options.Ownership; without that channel the node is alone and owns
// every active trunk (see the package doc, "Cluster"). An Ownership
// never changes: a new one comes as a new value.
type Ownership interface {
	Owns(code string) bool // this node registers the trunk
	Fenced() bool          // this node may register nothing (its lease is not proven)
	Generation() uint64    // increases with every new ownership
}

// registers reports whether the trunk with code and reg registers on this
// node under own (nil: alone, every trunk is owned).
func registers(own Ownership, code string, reg int) bool {
	if reg != 1 {
		return false
	}
	return own == nil || !own.Fenced() && own.Owns(code)
}

// ownGeneration is own's generation, 0 for nil.
func ownGeneration(own Ownership) uint64 {
	if own == nil {
		return 0
	}
	return own.Generation()
}

// SubscribeAppliedOwnership delivers the generation of the ownership
// every target's live file reflects, every time it moves, latest wins
// (the current value at once once there is one): the least over the
// targets of TargetStatus.OwnershipGeneration, the last ownership each
// applied (rendered and, where the file changed, reloaded or applied
// trunk by trunk with no un-registration still failing). Until then the
// engines may still register trunks an older ownership gave this node,
// so the cluster releases a trunk this node gave up only once the value
// reaches the ownership that gave it up. Without Options.Ownership the
// value is 0.
func (r *Renderer) SubscribeAppliedOwnership() *feed.Subscription[uint64] {
	return r.applied.Subscribe()
}

// publishApplied publishes the applied ownership when it moved; called with
// r.mu held after a target's OwnershipGeneration changed.
func (r *Renderer) publishApplied() {
	gen := r.targets[0].st.OwnershipGeneration
	for _, t := range r.targets {
		gen = min(gen, t.st.OwnershipGeneration)
	}
	if last, ok := r.applied.Last(); !ok || gen != last {
		r.applied.Publish(gen)
	}
}
