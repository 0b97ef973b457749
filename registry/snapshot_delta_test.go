package registry

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestWithFileMatchesRebuild applies random one-file changes (new, edited,
// broken with and without a last good version, removed, colliding codes)
// and checks after each that the spliced snapshot equals a full rebuild,
// or that withFile declined.
func TestWithFileMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	states := map[string]*fileState{}
	now := time.Unix(1e9, 0)
	snap := buildSnapshot(1, now, "d", states)
	spliced := 0
	for step := 0; step < 3000; step++ {
		name := fmt.Sprintf("f%02d.yaml", rng.Intn(40))
		old := states[name]
		st := randomState(rng, name, old)
		if st == nil {
			delete(states, name)
		} else {
			states[name] = st
		}
		want := buildSnapshot(snap.generation+1, now, "d", states)
		var oldP *Provider
		if old != nil {
			oldP = old.good
		}
		if got := snap.withFile(snap.generation+1, now, "d", name, oldP, st); got != nil {
			spliced++
			compareSnapshots(t, step, got, want)
		}
		snap = want
	}
	if spliced < 1000 {
		t.Errorf("only %d of 3000 changes took the spliced path", spliced)
	}
}

// randomState returns a new state for a file: removed, valid, or invalid
// (keeping the last good version of old).
func randomState(rng *rand.Rand, name string, old *fileState) *fileState {
	switch rng.Intn(10) {
	case 0:
		return nil
	case 1:
		st := &fileState{problems: Problems{{Field: "expires", Msg: "bad"}}, codeLine: 1, idLine: 1}
		if old != nil {
			st.good = old.good
		}
		return st
	}
	code := "own-" + name
	if rng.Intn(20) == 0 {
		code = fmt.Sprintf("c%02d", rng.Intn(5)) // a collision now and then
	}
	p := &Provider{Code: code, ID: DeriveID(code), Expires: rng.Intn(1000), Enabled: rng.Intn(2)}
	return &fileState{good: p, codeLine: 1, idLine: 1}
}

func compareSnapshots(t *testing.T, step int, got, want *Snapshot) {
	t.Helper()
	if !slices.Equal(got.providers, want.providers) {
		t.Fatalf("step %d: providers differ", step)
	}
	if got.enabled != want.enabled {
		t.Fatalf("step %d: enabled %d != %d", step, got.enabled, want.enabled)
	}
	for _, idx := range []struct{ g, w *index }{{got.byID, want.byID}, {got.byCode, want.byCode}} {
		for i := range idx.w.shards {
			g, w := idx.g.shards[i], idx.w.shards[i]
			if len(g) != len(w) {
				t.Fatalf("step %d: shard %d sizes %d != %d", step, i, len(g), len(w))
			}
			for k, e := range w {
				if ge, ok := g[k]; !ok || ge.p != e.p || ge.file != e.file {
					t.Fatalf("step %d: index entry %s differs", step, k)
				}
			}
		}
	}
	if !reflect.DeepEqual(got.invalid, want.invalid) {
		t.Fatalf("step %d: invalid lists differ:\n%+v\n%+v", step, got.invalid, want.invalid)
	}
}
