package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestWatchAfterCompaction: a node whose connection dropped while a node
// joined and etcd compacted its history resumes with a listing (the
// revision its watch resumes from is gone) and settles with the others.
func TestWatchAfterCompaction(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 60)
	codes := codesOf(reg)
	p := etcdtest.NewProxy(t, etcd.Members[0].ClientURL)
	cut := startNode(t, "n0", []string{p.URL()}, reg, oneGroup())
	n1 := startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "two nodes settled", func() bool { return settled([]*node{cut, n1}, codes) })

	p.Set(etcdtest.Drop) // its watch resumes from its last revision when back
	n2 := startNode(t, "n2", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "n1 and n2 see each other", func() bool {
		return len(n1.last().Nodes()) == 3 && len(n2.last().Nodes()) == 3
	})
	cl := etcd.Client()
	for i := 0; i < 20; i++ {
		if _, err := cl.Put(t.Context(), DefaultPrefix+"/noise", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := cl.Get(t.Context(), DefaultPrefix+"/noise")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Compact(t.Context(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	p.Set(etcdtest.Forward)
	waitFor(t, 30*time.Second, "three nodes settled after the compaction", func() bool {
		return settled([]*node{cut, n1, n2}, codes)
	})
	checkNoOverlap(t, []*node{cut, n1, n2}, codes)
}
