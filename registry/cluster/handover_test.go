package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// TestStuckConsumerKeepsOwnership: a node whose consumer does not confirm
// the View without a trunk keeps the trunk's key, and the new owner does
// not start it, while trunks of a confirming node move at once; once the
// consumer confirms, the rest moves. No two nodes ever own a trunk at once.
func TestStuckConsumerKeepsOwnership(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 120)
	codes := codesOf(reg)
	n0 := startNode(t, "n0", etcd.Endpoints(), reg, oneGroup())
	n1 := startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "two nodes settled", func() bool { return settled([]*node{n0, n1}, codes) })
	var from0, from1 []string
	for _, code := range codes {
		if owner(code, []string{"n0", "n1", "n2"}) != "n2" {
			continue
		}
		if n0.last().Owns(code) {
			from0 = append(from0, code)
		} else {
			from1 = append(from1, code)
		}
	}
	n0.mu.Lock()
	n0.hold = true
	n0.mu.Unlock()
	n2 := startNode(t, "n2", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "n1's trunks for n2 moved", func() bool {
		v := n2.last()
		for _, code := range from1 {
			if !v.Owns(code) {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "n0 gave its trunks for n2 up in its View", func() bool {
		v := n0.last()
		return !slices.ContainsFunc(from0, v.Owns)
	})
	for _, code := range from0 {
		if n2.last().Owns(code) {
			t.Errorf("%s: n2 owns it while n0's consumer has not confirmed", code)
		}
		resp, err := etcd.Client().Get(t.Context(), DefaultPrefix+"/owner/"+code)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "n0" {
			t.Errorf("%s: owner key %v, want n0's until its consumer confirms", code, resp.Kvs)
		}
	}
	n0.mu.Lock()
	n0.hold = false
	n0.mu.Unlock()
	n0.c.Applied(n0.last().Generation())
	nodes := []*node{n0, n1, n2}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	t.Logf("%d trunks moved from n1 at once, %d from n0 after its consumer confirmed", len(from1), len(from0))
	checkNoOverlap(t, nodes, codes)
}

// TestGroups: nodes own only the trunks of their server_index.
func TestGroups(t *testing.T) {
	etcd := startEtcd(t)
	dir := t.TempDir()
	for i := 0; i < 40; i++ {
		data := fmt.Sprintf("code: g%02d\nusername: u\ndomain: cluster.trunkd.test\nproxyaddr: 127.0.0.1\nserveridx: %d\n", i, i%2)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("g%02d.yaml", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for group := 0; group < 2; group++ {
		var nodes []*node
		for i := 0; i < 2; i++ {
			nodes = append(nodes, startNode(t, fmt.Sprintf("s%d-n%d", group, i), etcd.Endpoints(), reg, Config{Group: group}))
		}
		codes := activeCodes(reg.Snapshot(), group)
		if len(codes) != 20 {
			t.Fatalf("group %d: %d codes", group, len(codes))
		}
		waitFor(t, 30*time.Second, fmt.Sprintf("group %d settled", group), func() bool { return settled(nodes, codes) })
	}
}

// TestLeaveHandsOver: Leave moves a node's trunks to the others at once,
// the node stopping each before the new owner starts it, and leaves the
// node fenced without a lease.
func TestLeaveHandsOver(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 120)
	codes := codesOf(reg)
	var nodes []*node
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), etcd.Endpoints(), reg, oneGroup()))
	}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	had := len(nodes[0].last().Owned())
	start := time.Now()
	if err := nodes[0].c.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	waitFor(t, 10*time.Second, "the other two own every trunk", func() bool { return settled(nodes[1:], codes) })
	t.Logf("Leave handed %d trunks over in %v; the others own all %d %v after Leave was called",
		had, took.Round(time.Millisecond), len(codes), time.Since(start).Round(time.Millisecond))
	if v := nodes[0].c.View(); !v.Fenced() || len(v.Owned()) > 0 || v.Lease().ID != 0 {
		t.Errorf("after Leave: fenced %v, owns %d, lease %x", v.Fenced(), len(v.Owned()), v.Lease().ID)
	}
	checkNoOverlap(t, nodes, codes)
}
