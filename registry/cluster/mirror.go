package cluster

import (
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// keys builds and parses the cluster's etcd keys:
//
//	<prefix>/nodes/<group>/<node>   value "<node> host=<host> pid=<pid>", under the node's lease
//	<prefix>/owner/<code>           value owner node, under the owner's lease
//	<prefix>/head                   value "<commit> <node>", no lease
//	<prefix>/lock/<node>/<lease>    the write lock's queue, under the lease
//
// The group of -1 (no server_index) is written "any".
type keys struct {
	prefix string
	group  int
}

func (k keys) groupName() string {
	if k.group < 0 {
		return "any"
	}
	return strconv.Itoa(k.group)
}

func (k keys) nodesPrefix() string      { return k.prefix + "/nodes/" + k.groupName() + "/" }
func (k keys) node(name string) string  { return k.nodesPrefix() + name }
func (k keys) ownerPrefix() string      { return k.prefix + "/owner/" }
func (k keys) owner(code string) string { return k.ownerPrefix() + code }
func (k keys) head() string             { return k.prefix + "/head" }
func (k keys) lockPrefix() string       { return k.prefix + "/lock/" }
func (k keys) all() string              { return k.prefix + "/" }

// entry is the mirrored state of one key: its value and lease, or a
// tombstone, at a revision. Older news never overwrites newer.
type entry struct {
	value string
	lease int64
	rev   int64 // mod revision of the put, or revision of the delete
	gone  bool
}

// mirror is this node's copy of the keys it follows: the group's nodes,
// every owner key and the head. The watch and this node's own transactions
// both feed it, ordered by revision.
type mirror struct {
	nodes  map[string]entry // node name → entry
	owners map[string]entry // code → entry
	head   entry
	dirty  bool // changed since the last reconcile pass published
}

func newMirror() mirror {
	return mirror{nodes: map[string]entry{}, owners: map[string]entry{}}
}

// set records e for key k when it is not older than what is known; it
// reports whether the head changed.
func (m *mirror) set(k keys, key string, e entry) (headChanged bool) {
	switch {
	case strings.HasPrefix(key, k.nodesPrefix()):
		setNewer(m.nodes, strings.TrimPrefix(key, k.nodesPrefix()), e)
	case strings.HasPrefix(key, k.ownerPrefix()):
		setNewer(m.owners, strings.TrimPrefix(key, k.ownerPrefix()), e)
	case key == k.head():
		if e.rev >= m.head.rev {
			headChanged = e.value != m.head.value || e.gone != m.head.gone
			m.head = e
		}
	}
	return headChanged
}

func setNewer(to map[string]entry, name string, e entry) {
	if cur, ok := to[name]; ok && cur.rev > e.rev {
		return
	}
	to[name] = e
}

// event turns a watch event into an entry.
func event(ev *mvccpb.Event) entry {
	if ev.Type == mvccpb.DELETE {
		return entry{rev: ev.Kv.ModRevision, gone: true}
	}
	return kvEntry(ev.Kv)
}

// kvEntry is the entry of a key etcd returned.
func kvEntry(kv *mvccpb.KeyValue) entry {
	return entry{value: string(kv.Value), lease: kv.Lease, rev: kv.ModRevision}
}

// replace installs a full listing taken at revision rev: entries of this
// node's own transactions newer than rev stay, everything else not listed
// is gone. It reports whether the head changed.
func (m *mirror) replace(k keys, kvs []*mvccpb.KeyValue, rev int64) (headChanged bool) {
	fresh := newMirror()
	for _, kv := range kvs {
		fresh.set(k, string(kv.Key), kvEntry(kv))
	}
	if fresh.head.rev == 0 { // not listed: gone as of the listing
		fresh.head = entry{rev: rev, gone: true}
	}
	keepNewer(fresh.nodes, m.nodes, rev)
	keepNewer(fresh.owners, m.owners, rev)
	if m.head.rev > rev {
		fresh.head = m.head
	}
	fresh.dirty = true
	headChanged = fresh.head.value != m.head.value || fresh.head.gone != m.head.gone
	*m = fresh
	return headChanged
}

func keepNewer(to, from map[string]entry, rev int64) {
	for name, e := range from {
		if e.rev > rev {
			to[name] = e
		}
	}
}

// liveNodes returns the names of the group's live nodes, sorted.
func (m *mirror) liveNodes() []string {
	var out []string
	for name, e := range m.nodes {
		if !e.gone {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
