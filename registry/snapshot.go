package registry

import (
	"sort"
	"time"
)

// Snapshot is an immutable, indexed view of all valid providers at one
// moment. Nothing in it may be modified: providers are shared between
// snapshots.
type Snapshot struct {
	generation uint64
	built      time.Time
	providers  []*Provider // sorted by code, then id
	files      []string    // files[i] holds providers[i]
	byID       map[string]int
	byCode     map[string]int
	invalid    []FileProblems
}

// FileProblems lists why one file is not (or no longer) in force. A file
// with a last good version keeps that version in the snapshot.
type FileProblems struct {
	File     string   `json:"file"`
	Problems Problems `json:"problems"`
	KeptLast bool     `json:"kept_last_good"`
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

// ByID returns the provider with the given id.
func (s *Snapshot) ByID(id string) (*Provider, bool) {
	i, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return s.providers[i], true
}

// ByCode returns the provider with the given code.
func (s *Snapshot) ByCode(code string) (*Provider, bool) {
	i, ok := s.byCode[code]
	if !ok {
		return nil, false
	}
	return s.providers[i], true
}

// FileOf returns the file name (relative to the providers directory) that
// holds the provider with the given id, or "".
func (s *Snapshot) FileOf(id string) string {
	i, ok := s.byID[id]
	if !ok {
		return ""
	}
	return s.files[i]
}

// Invalid lists the files that failed to parse or validate, by file name.
func (s *Snapshot) Invalid() []FileProblems { return s.invalid }

// buildSnapshot indexes the last good provider of every file. Files are
// visited by name, so of two files with the same code or id the first wins.
func buildSnapshot(gen uint64, now time.Time, names []string, states map[string]*fileState) *Snapshot {
	s := &Snapshot{
		generation: gen,
		built:      now,
		byID:       make(map[string]int, len(names)),
		byCode:     make(map[string]int, len(names)),
	}
	type item struct {
		p    *Provider
		file string
	}
	items := make([]item, 0, len(names))
	ownerID := make(map[string]string, len(names))
	ownerCode := make(map[string]string, len(names))
	for _, name := range names {
		st := states[name]
		probs := st.problems
		if p := st.good; p != nil {
			if other, dup := ownerCode[p.Code]; dup {
				probs = append(probs[:len(probs):len(probs)], Problem{File: name, Line: st.line("code"), Field: "code", Msg: "duplicate: " + quote(p.Code) + " is already defined in " + other})
			} else if other, dup := ownerID[p.ID]; dup {
				probs = append(probs[:len(probs):len(probs)], Problem{File: name, Line: st.line("id"), Field: "id", Msg: "duplicate: " + p.ID + " is already used in " + other})
			} else {
				ownerCode[p.Code], ownerID[p.ID] = name, name
				items = append(items, item{p, name})
				if len(probs) > 0 {
					s.invalid = append(s.invalid, FileProblems{File: name, Problems: probs, KeptLast: true})
				}
				continue
			}
		}
		if len(probs) > 0 {
			s.invalid = append(s.invalid, FileProblems{File: name, Problems: probs})
		}
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].p, items[j].p
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.ID < b.ID
	})
	s.providers = make([]*Provider, len(items))
	s.files = make([]string, len(items))
	for i, it := range items {
		s.providers[i], s.files[i] = it.p, it.file
		s.byID[it.p.ID] = i
		s.byCode[it.p.Code] = i
	}
	return s
}
