package main

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestClusterEndToEnd is the short version of issue 15's figures, run by
// `make test`: three etcd members, three trunkd processes, a git remote and
// a registrar on loopback. Steady state: every trunk registered from
// exactly one node, its owner. A second process with a node's name stays
// fenced and says why. kill -9 of a node: its trunks move to the
// others. The node restarts: trunks move back, each stopped on its old
// owner before the new one registers. A node cut off from etcd fences
// (/readyz 503, writes refused) and the others take its trunks in the same
// order. A write on one node reaches the others. SIGTERM of a node: it
// leaves the cluster, and each of its trunks is registered by another
// node within the lease TTL + 2 s, old owner first. The waits have
// deadlines that only catch a hang; the other times are logged, not
// asserted.
func TestClusterEndToEnd(t *testing.T) {
	e := newClusterEnv(t, 12, 3)
	for _, n := range e.nodes {
		e.start(n)
	}
	all := e.nodes
	owners := e.settled("three nodes started", all)
	for c, bs := range e.reg.bound(e.codes) {
		if len(bs) != 1 {
			t.Errorf("steady state: trunk %s bound from %v, want exactly one node", c, bs)
		}
	}
	e.checkClusterMetrics(e.nodes[0])
	e.checkTwin(e.nodes[1], owners)
	if _, page := get(t, e.nodes[0].proc.base+"/"); !strings.Contains(page, `id="cluster"`) || !strings.Contains(page, "registered from this node") {
		t.Errorf("the status page lacks the cluster section or the trunks' owners")
	}

	// kill -9 of the node that owns the most trunks.
	victim := e.busiest(owners)
	t0 := time.Now()
	victim.kill9(t)
	rest := e.without(victim)
	after := e.settled("after kill -9 of "+victim.name, rest)
	t.Logf("kill -9 of %s: its trunks registered elsewhere after %v", victim.name, time.Since(t0).Round(time.Millisecond))
	if n := e.handoverOrder(t0, owners, after); n == 0 {
		t.Errorf("no trunk moved after kill -9 of %s (it owned %d)", victim.name, count(owners, victim.name))
	}
	e.checkChanges(rest[0], victim.name, owners, after)

	// The node comes back: its share moves back, old owner first.
	t0 = time.Now()
	e.start(victim)
	back := e.settled("after "+victim.name+" restarted", all)
	moved := e.handoverOrder(t0, after, back)
	t.Logf("%s back: %d of %d trunks moved back in %v", victim.name, moved, len(e.codes), time.Since(t0).Round(time.Millisecond))

	// Cut one node off from etcd: it fences, the others take its trunks.
	cut := e.busiest(back)
	t0 = time.Now()
	cut.cut(etcdtest.Blackhole)
	waitUntil(t, cut.name+" fenced after its etcd traffic was cut", func() bool {
		code, _ := get(t, cut.proc.base+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	fencedAfter := time.Since(t0)
	waitUntil(t, cut.name+" ran its fence action and dropped its uacreg rows", func() bool {
		return slices.Contains(strings.Split(cut.fenceLog(), "\n"), "fence") && len(cut.uacregCodes()) == 0
	})
	status, _, body := call(t, "PATCH", cut.proc.base+"/rest/v1/uc/providers/"+e.id(t, cut, e.codes[0]), "alice", `{"trunksout":7}`)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "fenced") {
		t.Errorf("PATCH on the fenced node: %d %s", status, body)
	}
	others := e.without(cut)
	split := e.settled("after "+cut.name+" was cut off from etcd", others)
	if n := e.handoverOrder(t0, back, split); n == 0 {
		t.Errorf("no trunk moved away from the cut-off node %s", cut.name)
	}
	t.Logf("%s cut off: fenced after %v, its trunks registered elsewhere after %v", cut.name, fencedAfter.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	cut.cut(etcdtest.Forward)
	healed := e.settled("after "+cut.name+"'s etcd traffic was restored", all)
	e.handoverOrder(t0, split, healed)
	if log := cut.fenceLog(); !strings.HasSuffix(log, "unfence\n") {
		t.Errorf("%s's fence log after the partition healed: %q, want the unfence last", cut.name, log)
	}

	// A write on one node reaches the others at once (the head watch).
	w, r := e.nodes[0], e.nodes[1]
	id := e.id(t, w, e.codes[1])
	if status, _, body := call(t, "PATCH", w.proc.base+"/rest/v1/uc/providers/"+id, "bob", `{"trunksout":42}`); status != http.StatusOK {
		t.Fatalf("PATCH on %s: %d %s", w.name, status, body)
	}
	t0 = time.Now()
	waitUntil(t, "the write on "+w.name+" visible on "+r.name, func() bool {
		_, _, body := call(t, "GET", r.proc.base+"/rest/v1/uc/providers/"+id, "alice", "")
		return strings.Contains(body, `"trunksout": 42`)
	})
	t.Logf("write on %s visible on %s after %v", w.name, r.name, time.Since(t0).Round(time.Millisecond))

	// A planned stop: SIGTERM hands the node's trunks over before it exits.
	owners = e.settled("before the planned stop", all)
	e.gracefulStop(e.busiest(owners), owners, e.without(e.busiest(owners)))
}

// checkTwin starts a second process configured with n's cluster.node: it
// stays fenced and says why (/status, /readyz, the metric), n keeps every
// trunk it owned, and the twin stops on SIGTERM.
func (e *clusterEnv) checkTwin(n *clusterNode, owners map[string]string) {
	t := e.t
	t.Helper()
	twin := e.twin(n)
	e.start(twin)
	want := `cluster.node "` + n.name + `" is held by another process`
	waitUntil(t, "the twin of "+n.name+" reports the name conflict", func() bool {
		st, ok := twin.status()
		return ok && st.Cluster.Fenced && strings.Contains(st.Cluster.FenceReason, want)
	})
	if code, _ := get(t, twin.proc.base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("the twin of %s: /readyz %d, want 503", n.name, code)
	}
	if _, m := get(t, twin.proc.base+"/metrics"); !strings.Contains(m, "\ntrunkd_cluster_node_name_conflict 1\n") {
		t.Errorf("the twin of %s does not export trunkd_cluster_node_name_conflict 1", n.name)
	}
	twin.stop(t)
	if after := e.settled("after the twin of "+n.name+" stopped", e.nodes); !maps.Equal(after, owners) {
		t.Errorf("the twin of %s moved trunks: owners %v, before %v", n.name, after, owners)
	}
}

// TestNoClusterNoClusterParts: without a cluster: section the daemon shows
// no cluster section, exports no cluster metric and is ready (every other
// test of the suite runs this way too).
func TestNoClusterNoClusterParts(t *testing.T) {
	base := startServe(t, "providers_dir: "+t.TempDir()+"\nprobe:\n  enabled: false\n")
	if _, body := get(t, base+"/status"); strings.Contains(body, `"cluster"`) {
		t.Errorf("/status has a cluster section without cluster:\n%s", body)
	}
	if _, body := get(t, base+"/metrics"); strings.Contains(body, "trunkd_cluster_") {
		t.Error("cluster metrics exported without cluster:")
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d %s", code, body)
	}
}
