package render

import (
	"path/filepath"
	"testing"
)

// TestTrunkCacheKeepsFailures: a provider whose values cannot be derived
// stays in the failed list on the next snapshot while it is unchanged; it
// is not forgotten (which would count as a removal). The registry's
// validation lets no such provider through today, so the test breaks a
// provider of the snapshot in place.
func TestTrunkCacheKeepsFailures(t *testing.T) {
	snap := openRegistry(t, filepath.Join("testdata", "providers")).Snapshot()
	p := snap.Providers()[0]
	p.AlternativeProxies = "tcp:no port here"
	var c trunkCache
	for i, own := range []Ownership{nil, owning(1, "alpha"), owning(2, "bravo")} { // a new set each time
		set := c.get(snap, -1, own)
		if len(set.failed) != 1 || set.failed[0].code != p.Code || set.failed[0].err == nil {
			t.Fatalf("pass %d: failed %+v, want %s alone", i, set.failed, p.Code)
		}
		for _, tr := range set.trunks {
			if tr.Code == p.Code {
				t.Fatalf("pass %d: the failed trunk %s is among the trunks", i, p.Code)
			}
		}
	}
}
