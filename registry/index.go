package registry

import (
	"hash/maphash"
	"maps"
)

// indexShards is the number of maps an index is split into. With 10,000
// providers a shard holds about 80 entries: copying one is cheap, and the
// array of shard pointers a derived index copies is 1 KiB.
const indexShards = 128

var indexSeed = maphash.MakeSeed()

// entry is one indexed provider and the file that holds it.
type entry struct {
	p    *Provider
	file string
}

// index maps a key (an id or a code) to its entry. It is persistent: an
// index derived from another (editIndex) shares every shard the edit does
// not touch, so a one-provider change costs two small shard copies, not
// two copies of maps with every provider.
type index struct {
	shards [indexShards]map[string]*entry
}

func shardOf(key string) int { return int(maphash.String(indexSeed, key) % indexShards) }

// newIndex returns an empty index sized for n entries; fill it with set
// before sharing it.
func newIndex(n int) *index {
	ix := &index{}
	for i := range ix.shards {
		ix.shards[i] = make(map[string]*entry, n/indexShards+1)
	}
	return ix
}

func (ix *index) get(key string) (*entry, bool) {
	e, ok := ix.shards[shardOf(key)][key]
	return e, ok
}

// set adds or replaces an entry of an index nobody else sees yet.
func (ix *index) set(key string, e *entry) { ix.shards[shardOf(key)][key] = e }

// indexEdit derives a new index from a shared one, copying a shard the
// first time the edit touches it.
type indexEdit struct {
	ix     *index
	copied [indexShards]bool
}

func editIndex(base *index) *indexEdit {
	ix := *base
	return &indexEdit{ix: &ix}
}

func (ed *indexEdit) shard(key string) map[string]*entry {
	i := shardOf(key)
	if !ed.copied[i] {
		ed.ix.shards[i] = maps.Clone(ed.ix.shards[i])
		if ed.ix.shards[i] == nil {
			ed.ix.shards[i] = map[string]*entry{}
		}
		ed.copied[i] = true
	}
	return ed.ix.shards[i]
}

func (ed *indexEdit) set(key string, e *entry) { ed.shard(key)[key] = e }
func (ed *indexEdit) delete(key string)        { delete(ed.shard(key), key) }
