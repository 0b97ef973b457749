package render

import (
	"slices"
	"testing"
)

func TestDiffPieces(t *testing.T) {
	p := func(kv ...string) []trunkPiece {
		var out []trunkPiece
		for i := 0; i < len(kv); i += 2 {
			out = append(out, trunkPiece{code: kv[i], text: []byte(kv[i+1])})
		}
		return out
	}
	tests := []struct {
		name                    string
		old, next               []trunkPiece
		added, changed, removed []string
	}{
		{name: "both empty"},
		{name: "first file", next: p("a", "1", "b", "2"), added: []string{"a", "b"}},
		{name: "all gone", old: p("a", "1", "b", "2"), removed: []string{"a", "b"}},
		{name: "unchanged", old: p("a", "1", "b", "2"), next: p("a", "1", "b", "2")},
		{name: "one changed", old: p("a", "1", "b", "2", "c", "3"), next: p("a", "1", "b", "X", "c", "3"), changed: []string{"b"}},
		{name: "added in the middle", old: p("a", "1", "c", "3"), next: p("a", "1", "b", "2", "c", "3"), added: []string{"b"}},
		{name: "removed at the end", old: p("a", "1", "c", "3"), next: p("a", "1"), removed: []string{"c"}},
		{name: "removed at the start", old: p("a", "1", "c", "3"), next: p("c", "3"), removed: []string{"a"}},
		{name: "mixed", old: p("a", "1", "b", "2", "d", "4"), next: p("b", "X", "c", "3", "d", "4", "e", "5"),
			added: []string{"c", "e"}, changed: []string{"b"}, removed: []string{"a"}},
		{name: "empty piece is absent: stops registering", old: p("a", "1", "b", "2"), next: p("a", "1", "b", ""), removed: []string{"b"}},
		{name: "empty piece is absent: starts registering", old: p("a", "", "b", "2"), next: p("a", "1", "b", "2"), added: []string{"a"}},
		{name: "empty both sides", old: p("a", ""), next: p("a", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diffPieces(tt.old, tt.next)
			got := map[string][]string{}
			for _, a := range d {
				got[a.kind] = append(got[a.kind], a.code)
			}
			if !slices.Equal(got[ActionAdd], tt.added) || !slices.Equal(got[ActionChange], tt.changed) || !slices.Equal(got[ActionRemove], tt.removed) {
				t.Errorf("diff = %+v, want added %v changed %v removed %v", d, tt.added, tt.changed, tt.removed)
			}
			if !slices.IsSortedFunc(d, func(a, b trunkAction) int { return byCode(a, b.code) }) {
				t.Errorf("diff = %+v, not sorted by code", d)
			}
		})
	}
}
