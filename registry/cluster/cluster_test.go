package cluster

import (
	"fmt"
	"testing"
	"time"
)

// TestOneOwnerPerCode: three nodes of one group give every active trunk
// exactly one owner, recorded in etcd under that owner's lease, and each
// node owns exactly the trunks recorded for it.
func TestOneOwnerPerCode(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 300)
	codes := codesOf(reg)
	var nodes []*node
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), etcd.Endpoints(), reg, oneGroup()))
	}
	waitFor(t, 30*time.Second, "three nodes agree on one owner per code", func() bool { return settled(nodes, codes) })

	owned := map[string]string{}
	for _, n := range nodes {
		v := n.last()
		for _, code := range v.Owned() {
			if prev, ok := owned[code]; ok {
				t.Errorf("%s owned by %s and %s", code, prev, n.name)
			}
			owned[code] = n.name
		}
		t.Logf("%s owns %d of %d trunks", n.name, len(v.Owned()), len(codes))
		if len(v.Owned()) < len(codes)/6 {
			t.Errorf("%s owns only %d of %d: rendezvous hashing unbalanced", n.name, len(v.Owned()), len(codes))
		}
	}
	if len(owned) != len(codes) {
		t.Errorf("%d of %d codes owned", len(owned), len(codes))
	}
	cl := etcd.Client()
	for _, n := range nodes {
		lease := n.last().Lease().ID
		for _, code := range n.last().Owned() {
			resp, err := cl.Get(t.Context(), DefaultPrefix+"/owner/"+code)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != n.name || resp.Kvs[0].Lease != lease {
				t.Fatalf("owner key of %s: %v, want %s under lease %x", code, resp.Kvs, n.name, lease)
			}
		}
	}
}
