package registry

import (
	"slices"
	"time"
)

// withFile derives the next snapshot from s when only file name changed:
// old is what the file held in s (nil: it was not in force), st its new
// state (nil: the file is gone). The indexes are persistent, so the cost is
// two shard copies and one copy of the sorted provider slice (pointers
// only), whatever the number of providers. It returns nil when a full
// rebuild is needed: a duplicate code or id is involved anywhere, or s does
// not hold old where expected.
func (s *Snapshot) withFile(gen uint64, now time.Time, dir, name string, old *Provider, st *fileState) *Snapshot {
	var p *Provider
	if st != nil {
		p = st.good
	}
	if !s.canSplice(dir, name, old, st) {
		return nil
	}
	byID, byCode := editIndex(s.byID), editIndex(s.byCode)
	next := &Snapshot{generation: gen, built: now, enabled: s.enabled}
	next.providers = slices.Clone(s.providers)
	if old != nil {
		byID.delete(old.ID)
		byCode.delete(old.Code)
		i, _ := slices.BinarySearchFunc(next.providers, old, compareProviders)
		next.providers = slices.Delete(next.providers, i, i+1)
		next.enabled -= enabledCount(old)
	}
	if p != nil {
		e := &entry{p: p, file: name}
		byID.set(p.ID, e)
		byCode.set(p.Code, e)
		i, _ := slices.BinarySearchFunc(next.providers, p, compareProviders)
		next.providers = slices.Insert(next.providers, i, p)
		next.enabled += enabledCount(p)
	}
	next.byID, next.byCode = byID.ix, byCode.ix
	next.invalid = spliceInvalid(s.invalid, name, st)
	return next
}

// canSplice reports whether withFile may splice: no duplicate anywhere, and
// s holds old in file name.
func (s *Snapshot) canSplice(dir, name string, old *Provider, st *fileState) bool {
	for _, inv := range s.invalid {
		if inv.dup {
			return false
		}
	}
	if old != nil {
		if e, ok := s.byID.get(old.ID); !ok || e.file != name || e.p != old {
			return false
		}
	}
	if st != nil && st.good != nil {
		if _, dup := s.duplicate(dir, name, st); dup {
			return false
		}
	}
	return true
}

// spliceInvalid replaces the entry of file name in the invalid list (sorted
// by file name) with st's problems, if any.
func spliceInvalid(invalid []FileProblems, name string, st *fileState) []FileProblems {
	var out []FileProblems
	for _, inv := range invalid {
		if inv.File != name {
			out = append(out, inv)
		}
	}
	if st == nil || len(st.problems) == 0 {
		return out
	}
	fp := FileProblems{File: name, Problems: st.problems, KeptLast: st.good != nil}
	i, _ := slices.BinarySearchFunc(out, name, func(f FileProblems, n string) int {
		switch {
		case f.File < n:
			return -1
		case f.File > n:
			return 1
		}
		return 0
	})
	return slices.Insert(out, i, fp)
}
