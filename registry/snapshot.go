package registry

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Snapshot is an immutable, indexed view of all valid providers at one
// moment. Nothing in it may be modified: providers, and the shards of its
// indexes, are shared between snapshots.
type Snapshot struct {
	generation uint64
	built      time.Time
	providers  []*Provider // sorted by code, then id
	enabled    int         // providers with enabled: 1
	byID       *index
	byCode     *index
	invalid    []FileProblems
}

// FileProblems lists why one file is not (or no longer) in force. A file
// with a last good version keeps that version in the snapshot.
type FileProblems struct {
	File     string   `json:"file"`
	Problems Problems `json:"problems"`
	KeptLast bool     `json:"kept_last_good"`
	dup      bool     // lost a duplicate code or id to another file
}

// Generation increases by one with every published snapshot.
func (s *Snapshot) Generation() uint64 { return s.generation }

// Built is when the snapshot was published.
func (s *Snapshot) Built() time.Time { return s.built }

// Len is the number of valid providers.
func (s *Snapshot) Len() int { return len(s.providers) }

// Providers returns all valid providers sorted by code (ties by id). The
// slice and the providers are shared: do not modify them.
func (s *Snapshot) Providers() []*Provider { return s.providers }

// ByID returns the provider with the given id, compared case-insensitively
// (ids are stored in lower case).
func (s *Snapshot) ByID(id string) (*Provider, bool) {
	e, ok := s.entryByID(id)
	if !ok {
		return nil, false
	}
	return e.p, true
}

// ByCode returns the provider with the given code.
func (s *Snapshot) ByCode(code string) (*Provider, bool) {
	e, ok := s.byCode.get(code)
	if !ok {
		return nil, false
	}
	return e.p, true
}

// FileOf returns the file name (relative to the providers directory) that
// holds the provider with the given id, or "".
func (s *Snapshot) FileOf(id string) string {
	if e, ok := s.entryByID(id); ok {
		return e.file
	}
	return ""
}

// entryByID looks an id up case-insensitively: ids are stored in lower case.
func (s *Snapshot) entryByID(id string) (*entry, bool) {
	e, ok := s.byID.get(id)
	if !ok {
		e, ok = s.byID.get(strings.ToLower(id))
	}
	return e, ok
}

// Invalid lists the files that failed to parse or validate, by file name.
func (s *Snapshot) Invalid() []FileProblems { return s.invalid }

// buildSnapshot indexes the last good provider of every file. Files are
// visited by name, so of two files with the same code or id the first wins.
func buildSnapshot(gen uint64, now time.Time, dir string, states map[string]*fileState) *Snapshot {
	names := slices.Sorted(maps.Keys(states))
	s := &Snapshot{generation: gen, built: now, byID: newIndex(len(names)), byCode: newIndex(len(names))}
	entries := make([]entry, 0, len(names)) // never grows: pointers into it stay valid
	sorted := make([]*entry, 0, len(names))
	for _, name := range names {
		st := states[name]
		p := st.good
		if p == nil {
			if len(st.problems) > 0 {
				s.invalid = append(s.invalid, FileProblems{File: name, Problems: st.problems})
			}
			continue
		}
		if dup, ok := s.duplicate(dir, name, st); ok {
			s.invalid = append(s.invalid, FileProblems{File: name, Problems: withProblem(st.problems, dup), dup: true})
			continue
		}
		entries = append(entries, entry{p: p, file: name})
		e := &entries[len(entries)-1]
		s.byCode.set(p.Code, e)
		s.byID.set(p.ID, e)
		sorted = append(sorted, e)
		if len(st.problems) > 0 {
			s.invalid = append(s.invalid, FileProblems{File: name, Problems: st.problems, KeptLast: true})
		}
	}
	slices.SortFunc(sorted, func(a, b *entry) int { return compareProviders(a.p, b.p) })
	s.providers = make([]*Provider, len(sorted))
	for i, e := range sorted {
		s.providers[i] = e.p
		s.enabled += enabledCount(e.p)
	}
	return s
}

func enabledCount(p *Provider) int {
	if p.Enabled == 1 {
		return 1
	}
	return 0
}

// duplicate reports the problem of a file whose provider's code or id an
// earlier file (by name) already holds in s.
func (s *Snapshot) duplicate(dir, name string, st *fileState) (Problem, bool) {
	p := st.good
	if other, ok := s.byCode.get(p.Code); ok && other.file != name {
		return Problem{File: filepath.Join(dir, name), Line: st.line("code"), Field: "code",
			Msg: "duplicate: " + quote(p.Code) + " is already defined in " + other.file}, true
	}
	if other, ok := s.byID.get(p.ID); ok && other.file != name {
		return Problem{File: filepath.Join(dir, name), Line: st.line("id"), Field: "id",
			Msg: "duplicate: " + p.ID + " is already used in " + other.file}, true
	}
	return Problem{}, false
}

// compareProviders orders providers by code, then id.
func compareProviders(a, b *Provider) int {
	if c := strings.Compare(a.Code, b.Code); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// withProblem appends without writing into the backing array of probs,
// which belongs to a file state.
func withProblem(probs Problems, p Problem) Problems {
	return append(slices.Clip(probs), p)
}
