package cluster

import (
	"maps"
	"slices"
	"time"

	"github.com/trunkd/trunkd/registry/feed"
)

// View is one immutable picture of the cluster as this node sees it. A new
// View, with the next generation, is published whenever anything in it
// changes; nothing in it may be modified.
type View struct {
	node     string
	gen      uint64
	fenced   bool
	reason   string            // why it is fenced; "" when not
	conflict error             // ErrNameTaken while another process holds the node's name
	owned    map[string]bool   // codes this node owns (empty when fenced)
	owners   map[string]string // active code of the group → owner node
	nodes    []string          // live nodes of the group, sorted
	lease    Lease
	changes  uint64 // trunks this node gained or gave up since it started
	unowned  int    // active codes without an owner key
}

// Lease is the health of this node's etcd lease.
type Lease struct {
	ID       int64         // etcd lease id, 0 while none
	TTL      time.Duration // as granted by etcd
	LastAck  time.Time     // send time of the last acknowledged keep-alive (or of the grant)
	Deadline time.Time     // LastAck + TTL - fence margin: the node fences at this time
}

// Node is this node's name.
func (v *View) Node() string { return v.node }

// Generation increases by one with every published View.
func (v *View) Generation() uint64 { return v.gen }

// Fenced reports that the node cannot prove its lease alive (or has not
// joined yet): it owns nothing, must not register and refuses writes.
func (v *View) Fenced() bool { return v.fenced }

// FenceReason says why the node is fenced ("" when it is not): not
// joined yet, its lease not proven alive, the lease expired, it left the
// cluster, or the error of Conflict.
func (v *View) FenceReason() string { return v.reason }

// Conflict is non-nil (wrapping ErrNameTaken) while another process holds
// this node's membership key: two nodes configured with the same
// cluster.node, or the node's previous run whose lease has not expired
// yet. The error names cluster.node, the key and the other holder.
func (v *View) Conflict() error { return v.conflict }

// Owns reports whether this node owns (and may register) the trunk.
func (v *View) Owns(code string) bool { return !v.fenced && v.owned[code] }

// Owned returns the codes this node owns, sorted.
func (v *View) Owned() []string { return slices.Sorted(maps.Keys(v.owned)) }

// Owners returns a copy of code → owner node for every active trunk of the
// group that has an owner in etcd.
func (v *View) Owners() map[string]string { return maps.Clone(v.owners) }

// Nodes returns the live nodes of the group (those with a membership key in
// etcd), sorted; this node is among them once it joined.
func (v *View) Nodes() []string { return slices.Clone(v.nodes) }

// Lease returns the health of this node's lease when the View was
// published; Cluster.Lease has it now.
func (v *View) Lease() Lease { return v.lease }

// Subscribe starts a subscription to the Views: the current one is
// waiting in C, then every new one follows; a slow reader sees only the
// latest.
func (c *Cluster) Subscribe() *feed.Subscription[*View] { return c.views.Subscribe() }
