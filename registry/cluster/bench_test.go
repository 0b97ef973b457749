package cluster

import (
	"fmt"
	"testing"
)

// BenchmarkPlan: one reconcile pass's planning (rendezvous choice for every
// active trunk, owned set, releases) and the View it publishes, at 10,000
// trunks over 3 nodes in steady state: the cost of every watch event.
func BenchmarkPlan(b *testing.B) {
	c := &Cluster{cfg: Config{Node: "n0", Group: -1}, keys: keys{prefix: "/b", group: -1},
		mirror: newMirror(), owned: map[string]bool{}, release: map[string]uint64{}}
	c.ls.id, c.ls.registered = 7, true
	nodes := []string{"n0", "n1", "n2"}
	for i, n := range nodes {
		c.mirror.nodes[n] = entry{value: n, lease: int64(7 + i), rev: 1}
	}
	for i := 0; i < 10000; i++ {
		code := fmt.Sprintf("trunk-%05d", i)
		c.active = append(c.active, code)
		o := owner(code, nodes)
		lease := int64(7)
		if o != "n0" {
			lease = 8
		}
		c.mirror.owners[code] = entry{value: o, lease: lease, rev: 2}
	}
	c.views.Publish(c.buildView(0))
	c.plan()
	b.ResetTimer()
	for b.Loop() {
		c.mirror.dirty = true // a watch event arrived: the View is rebuilt
		c.plan()
	}
	b.ReportMetric(float64(len(c.owned)), "owned")
}
