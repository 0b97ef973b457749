package cluster

import (
	"testing"
	"time"
)

// TestUnsureDelete: a delete of an owner key whose outcome is unknown (it
// timed out) leaves the trunk unowned until a delete answers, even though
// the node wants it; the node then claims it again, and the first delete
// applied late does not take the new key.
func TestUnsureDelete(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 3)
	codes := codesOf(reg)
	n0 := startNode(t, "n0", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "n0 owns everything", func() bool { return settled([]*node{n0}, codes) })
	cl, code := etcd.Client(), codes[0]
	key := n0.c.keys.owner(code)
	modRev := func() int64 {
		resp, err := cl.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return 0
		}
		return resp.Kvs[0].ModRevision
	}
	old, mark := modRev(), time.Now()
	n0.c.markUnsure([]string{code}, map[string]int64{code: old})
	n0.c.poke()
	waitFor(t, 10*time.Second, "n0 owns the trunk again under a new key", func() bool {
		return n0.last().Owns(code) && modRev() > old
	})
	dropped := false
	for _, s := range n0.history() {
		dropped = dropped || (s.at.After(mark) && !s.v.Owns(code))
	}
	if !dropped {
		t.Fatal("n0 kept owning a trunk whose delete had an unknown outcome")
	}
	lease, _ := n0.c.leaseAndLeaving()
	late := n0.c.deleteOp(lease, map[string]int64{code: old})(code)
	resp, err := cl.Txn(t.Context()).Then(late).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Responses[0].GetResponseTxn().Succeeded || modRev() == 0 {
		t.Fatal("a delete applied late took the key n0 claimed again")
	}
}
