package api

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/trunkd/trunkd/registry"
)

// view is the API's read-side index of one registry snapshot: per provider
// the encoded forms and ETag (computed once, carried over to later views
// while the provider is unchanged), per field a column of values for
// filtering, and per sort order a permutation. A view is immutable once
// built except for these lazily filled, race-free caches.
type view struct {
	snap    *registry.Snapshot
	entries []*entry // aligned with snap.Providers()
	byPtr   map[*registry.Provider]*entry
	etagKey *[32]byte

	cols []atomic.Pointer[column] // by position in registry.Fields

	permMu  sync.Mutex
	perms   map[string][]int32 // order spec → all positions in that order
	matches map[string][]int32 // filter text + order spec → matching positions in order
}

// maxCachedOrders bounds the permutations kept per view and
// maxCachedQueries the match lists; past its bound a cache drops what it
// kept and starts over.
const (
	maxCachedOrders  = 32
	maxCachedQueries = 64
)

// entry holds the cached encodings of one provider; a nil pointer means
// not computed yet. Two requests may compute one at the same time: both
// get the same bytes.
type entry struct {
	p    *registry.Provider
	list [2]atomic.Pointer[[]byte] // list items by flat: 0 nested, 1 flat
	one  atomic.Pointer[single]
}

// single is what GET /{id} answers without a mask: the full entity, the
// entity without pwd, and the ETag.
type single struct {
	full, redacted []byte
	etag           string
}

// column holds one field's values of every provider of a view, by
// snapshot position: ints for integer fields, text for the others
// (timestamps in their fixed-width seed form, which sorts as time does).
type column struct {
	isInt bool
	ints  []int
	strs  []string
}

// fieldPos numbers the fields of registry.Fields.
var fieldPos = func() map[*registry.Field]int {
	m := make(map[*registry.Field]int, len(registry.Fields))
	for i, f := range registry.Fields {
		m[f] = i
	}
	return m
}()

// viewCache keeps the view of the newest snapshot.
type viewCache struct {
	mu      sync.Mutex
	cur     atomic.Pointer[view]
	etagKey [32]byte
}

// get returns the view of the registry's current snapshot, building it
// from the previous view when the snapshot changed.
func (c *viewCache) get(reg Providers) *view {
	snap := reg.Snapshot()
	if v := c.cur.Load(); v != nil && v.snap == snap {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	snap = reg.Snapshot()
	prev := c.cur.Load()
	if prev != nil && prev.snap == snap {
		return prev
	}
	v := newView(snap, prev, &c.etagKey)
	c.cur.Store(v)
	return v
}

func newView(snap *registry.Snapshot, prev *view, key *[32]byte) *view {
	ps := snap.Providers()
	v := &view{
		snap:    snap,
		entries: make([]*entry, len(ps)),
		byPtr:   make(map[*registry.Provider]*entry, len(ps)),
		etagKey: key,
		cols:    make([]atomic.Pointer[column], len(registry.Fields)),
		perms:   map[string][]int32{},
		matches: map[string][]int32{},
	}
	for i, p := range ps {
		var e *entry
		if prev != nil {
			e = prev.byPtr[p]
		}
		if e == nil {
			e = &entry{p: p}
		}
		v.entries[i] = e
		v.byPtr[p] = e
	}
	return v
}

// byID returns the entry of provider id.
func (v *view) byID(id string) (*entry, bool) {
	p, ok := v.snap.ByID(id)
	if !ok {
		return nil, false
	}
	return v.byPtr[p], true
}

// single returns the provider's single-entity answers, from the cache
// after the first use.
func (e *entry) single(key *[32]byte) *single {
	if one := e.one.Load(); one != nil {
		return one
	}
	full := appendEntity(nil, e.p, shapeFull, false, "")
	one := &single{full: full, redacted: appendEntity(nil, e.p, shapeRedacted, false, ""), etag: etagOf(key, full)}
	e.one.Store(one)
	return one
}

// etagOf is a keyed hash (HMAC-SHA256 with a per-process random key) of
// full, a provider's full entity, password included: it changes with every
// change of the provider, yet reveals nothing about the password to a
// reader.
func etagOf(key *[32]byte, full []byte) string {
	m := hmac.New(sha256.New, key[:])
	m.Write(full)
	return `"` + hex.EncodeToString(m.Sum(nil)[:16]) + `"`
}

// listJSON is the provider's list item, from the cache after the first use.
func (e *entry) listJSON(flat bool) []byte {
	slot := &e.list[0]
	if flat {
		slot = &e.list[1]
	}
	if b := slot.Load(); b != nil {
		return *b
	}
	b := appendEntity(nil, e.p, shapeList, flat, "  ")
	slot.Store(&b)
	return b
}

// column returns field f's column, extracting it on first use.
func (v *view) column(f *registry.Field) *column {
	i := fieldPos[f]
	if c := v.cols[i].Load(); c != nil {
		return c
	}
	c := &column{isInt: f.Kind == registry.KindInt}
	ps := v.snap.Providers()
	if c.isInt {
		c.ints = make([]int, len(ps))
		for j, p := range ps {
			c.ints[j] = f.Value(p).(int)
		}
	} else {
		c.strs = make([]string, len(ps))
		for j, p := range ps {
			c.strs[j] = f.Text(p)
		}
	}
	v.cols[i].Store(c)
	return c
}

// order returns the positions of every provider sorted by keys, ties by
// id ascending. An empty order is the snapshot's order (code, then id),
// returned as nil.
func (v *view) order(keys []orderKey) []int32 {
	if len(keys) == 0 {
		return nil
	}
	perm, _ := v.memo(v.perms, maxCachedOrders, orderSpec(keys), func() ([]int32, error) {
		return v.sortAll(keys), nil
	})
	return perm
}

// memo returns m[key] (m is perms or matches), computing it with build and
// keeping it unless build fails; m holds at most limit entries and starts
// over past that.
func (v *view) memo(m map[string][]int32, limit int, key string, build func() ([]int32, error)) ([]int32, error) {
	v.permMu.Lock()
	got, ok := m[key]
	v.permMu.Unlock()
	if ok {
		return got, nil
	}
	got, err := build()
	if err != nil {
		return nil, err
	}
	v.permMu.Lock()
	if len(m) >= limit {
		clear(m)
	}
	m[key] = got
	v.permMu.Unlock()
	return got, nil
}

// sortAll returns the positions of every provider sorted by keys, ties by id.
func (v *view) sortAll(keys []orderKey) []int32 {
	n := len(v.entries)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	cols := make([]*column, len(keys))
	for k, key := range keys {
		cols[k] = v.column(key.field)
	}
	ids := v.column(registry.FieldByPath("id")).strs
	sort.Slice(perm, func(a, b int) bool {
		i, j := perm[a], perm[b]
		for k, key := range keys {
			c := compareAt(cols[k], i, j)
			if c != 0 {
				return c < 0 != key.desc
			}
		}
		return ids[i] < ids[j]
	})
	return perm
}

func compareAt(c *column, i, j int32) int {
	if c.isInt {
		return cmp.Compare(c.ints[i], c.ints[j])
	}
	return cmp.Compare(c.strs[i], c.strs[j])
}
