package cluster

import (
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestOneMemberCutOff: a node that loses one of its three etcd members
// (a hung connection, not a refused one) keeps its lease without fencing
// and still sees the others' changes: its keep-alives and its watch move
// to the members it can reach.
func TestOneMemberCutOff(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 60)
	codes := codesOf(reg)
	var proxies []*etcdtest.Proxy
	var viaProxy []string
	for _, m := range etcd.Members {
		p := etcdtest.NewProxy(t, m.ClientURL)
		proxies = append(proxies, p)
		viaProxy = append(viaProxy, p.URL())
	}
	n0 := startNode(t, "n0", viaProxy, reg, oneGroup())
	n1 := startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())
	n2 := startNode(t, "n2", etcd.Endpoints(), reg, oneGroup())
	nodes := []*node{n0, n1, n2}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	for i, p := range proxies {
		cut := time.Now()
		p.Set(etcdtest.Blackhole)
		if err := n2.c.Leave(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "n0 and n1 own everything", func() bool { return settled(nodes[:2], codes) })
		t.Logf("member %d cut off from n0: n0 saw n2 leave after %v", i, time.Since(cut).Round(time.Millisecond))
		n2.stop()
		n2 = startNode(t, "n2", etcd.Endpoints(), reg, oneGroup())
		nodes[2] = n2
		waitFor(t, 15*time.Second, "three nodes settled again", func() bool { return settled(nodes, codes) })
		for _, s := range n0.history() {
			if s.at.After(cut) && s.v.Fenced() {
				t.Fatalf("n0 fenced at %v with one member cut off", s.at.Sub(cut))
			}
		}
		p.Set(etcdtest.Forward)
	}
}
