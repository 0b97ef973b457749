package cluster

import (
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestPublishHeadOnlyUnderLock: PublishHead without Lock is refused, and a
// holder whose lock key vanished (its lease expired while it was writing)
// cannot publish over the head of the node that took the lock since.
func TestPublishHeadOnlyUnderLock(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 3)
	nodes := []*node{startNode(t, "n0", etcd.Endpoints(), reg, oneGroup()),
		startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())}
	waitFor(t, 30*time.Second, "two nodes settled", func() bool { return settled(nodes, codesOf(reg)) })
	n0, n1 := nodes[0].c, nodes[1].c
	if err := n0.PublishHead(t.Context(), "c0"); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("publish without Lock: %v, want ErrNotLocked", err)
	}
	unlock0, err := n0.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock0()
	cl := etcd.Client()
	if _, err := cl.Delete(t.Context(), n0.keys.lockPrefix()+"n0/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	unlock1, err := n1.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.PublishHead(t.Context(), "c2"); err != nil {
		t.Fatal(err)
	}
	unlock1()
	if err := n0.PublishHead(t.Context(), "c1"); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("publish after the lock key went: %v, want ErrNotLocked", err)
	}
	resp, err := cl.Get(t.Context(), n0.keys.head())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "c2 n1" {
		t.Fatalf("head %q, want the later holder's \"c2 n1\"", resp.Kvs)
	}
}
