package render

import "github.com/trunkd/trunkd/registry"

// trunkCache derives the trunks of a snapshot once for all targets, and
// keeps each derived trunk while its provider is unchanged (the registry
// shares unchanged *Provider values between snapshots): an unchanged
// provider keeps its *Trunk, which is what the targets' fragment caches
// are keyed by. Used by the applying goroutine only.
type trunkCache struct {
	providers []*registry.Provider // of the last snapshot, sorted by code
	trunks    []*Trunk             // the trunk of each of providers; nil when not active or failed
	errs      []error              // why each of providers' values could not be derived, or nil
	last      trunkSet
}

// get returns the active trunks of snap on a server with serverIndex (the
// same for every call) under the ownership own. A trunk whose provider is
// unchanged keeps its *Trunk while it registers as before; when only its
// ownership changed it gets a new one, so the targets render it again. A
// provider whose values could not be derived keeps its failure, so it
// stays reported (and is not taken for a removal) until it changes.
func (c *trunkCache) get(snap *registry.Snapshot, serverIndex int, own Ownership) trunkSet {
	if snap == nil {
		return trunkSet{}
	}
	if c.last.snap == snap && sameOwnership(c.last.own, own) {
		return c.last
	}
	providers := snap.Providers()
	all, errs := make([]*Trunk, len(providers)), make([]error, len(providers))
	set := trunkSet{snap: snap, trunks: make([]*Trunk, 0, len(providers)), own: own}
	j := 0
	for i, p := range providers {
		t, err := c.derive(p, serverIndex, &j)
		if err != nil {
			errs[i] = err
			set.failed = append(set.failed, trunkFailure{code: p.Code, err: err})
			continue
		}
		if t == nil {
			continue
		}
		if reg := registers(own, p.Code, p.Reg); t.Registers != reg {
			t = t.withRegisters(reg)
		}
		all[i] = t
		set.trunks = append(set.trunks, t)
		if t.Registers {
			set.registering = append(set.registering, t)
		}
	}
	c.providers, c.trunks, c.errs, c.last = providers, all, errs, set
	return set
}

// derive returns p's trunk (nil when p is not active): the cached one, or
// the cached failure, when p is unchanged since the last snapshot.
func (c *trunkCache) derive(p *registry.Provider, serverIndex int, j *int) (*Trunk, error) {
	if k := findSame(c.providers, p, j); k >= 0 {
		return c.trunks[k], c.errs[k]
	}
	if !p.Active(serverIndex) {
		return nil, nil
	}
	t, err := newTrunk(p)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// withRegisters is a copy of t with Registers set to reg.
func (t *Trunk) withRegisters(reg bool) *Trunk {
	nt := *t
	nt.Registers = reg
	return &nt
}

// sameOwnership reports whether a and b are the same ownership (both nil,
// or the same generation).
func sameOwnership(a, b Ownership) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Generation() == b.Generation()
}

// findSame returns the index of p itself (the same pointer) in prev, or
// -1. prev and the providers p is taken from are sorted by code and
// visited in order: *j carries the search position from one call to the
// next, so a whole snapshot is matched in one pass without a map.
func findSame(prev []*registry.Provider, p *registry.Provider, j *int) int {
	if *j < len(prev) && prev[*j] != p {
		for *j < len(prev) && prev[*j].Code < p.Code {
			*j++
		}
	}
	if *j < len(prev) && prev[*j] == p {
		*j++
		return *j - 1
	}
	return -1
}
