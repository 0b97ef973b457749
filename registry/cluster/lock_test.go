package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestLockSerialises: writers on three nodes (two goroutines each) never
// hold the lock at once; heads published by one node reach the others,
// never the publisher, and a node started later gets the present one; a
// fenced node is refused with ErrFenced.
func TestLockSerialises(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 3)
	codes := codesOf(reg)
	p := etcdtest.NewProxy(t, etcd.Members[0].ClientURL)
	var nodes []*node
	for i := 0; i < 3; i++ {
		eps := etcd.Endpoints()
		if i == 0 {
			eps = []string{p.URL()}
		}
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), eps, reg, oneGroup()))
	}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	lockRace(t, nodes, 2, 10)
	checkHeads(t, nodes)
	// A write after the head (in production: membership, claims, locks)
	// puts the listing's revision above the head's.
	if _, err := etcd.Client().Put(t.Context(), DefaultPrefix+"/noise", "x"); err != nil {
		t.Fatal(err)
	}
	late := startNode(t, "late", etcd.Endpoints(), reg, oneGroup())
	select {
	case h := <-late.c.Heads():
		if h.Commit != "def456" {
			t.Errorf("a node started later got head %+v, want the present one, def456", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a node started later got no head")
	}

	p.Set(etcdtest.Blackhole)
	waitFor(t, 20*time.Second, "n0 fences", func() bool { return nodes[0].last().Fenced() })
	if _, err := nodes[0].c.Lock(t.Context()); !errors.Is(err, ErrFenced) {
		t.Fatalf("Lock on a fenced node: %v, want ErrFenced", err)
	}
}

// lockRace runs writers goroutines per node, each taking the lock rounds
// times, and fails when two sections overlapped.
func lockRace(t *testing.T, nodes []*node, writers, rounds int) {
	var inside, maxInside, total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*writers)
	start := time.Now()
	for _, n := range nodes {
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < rounds; i++ {
					unlock, err := n.c.Lock(t.Context())
					if err != nil {
						errs <- err
						return
					}
					if in := inside.Add(1); in > maxInside.Load() {
						maxInside.Store(in)
					}
					total.Add(1)
					time.Sleep(time.Millisecond) // a commit + push takes longer
					inside.Add(-1)
					unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := int64(len(nodes) * writers * rounds)
	if maxInside.Load() != 1 || total.Load() != want {
		t.Fatalf("%d sections, at most %d at once; want %d, 1", total.Load(), maxInside.Load(), want)
	}
	t.Logf("%d lock sections from %d nodes in %v (%v each with a 1 ms section)", want, len(nodes),
		time.Since(start).Round(time.Millisecond), (time.Since(start) / time.Duration(want)).Round(100*time.Microsecond))
}

// checkHeads: a head published by nodes[1] reaches the others, not the
// publisher: once nodes[1] gets nodes[0]'s later head, its own was seen and
// skipped.
func checkHeads(t *testing.T, nodes []*node) {
	publish := func(n *node, commit string) {
		unlock, err := n.c.Lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		if err := n.c.PublishHead(t.Context(), commit); err != nil {
			t.Fatal(err)
		}
	}
	next := func(n *node) Head {
		select {
		case h := <-n.c.Heads():
			return h
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no head", n.name)
		}
		return Head{}
	}
	publish(nodes[1], "abc123")
	for _, n := range []*node{nodes[0], nodes[2]} {
		if h := next(n); h.Commit != "abc123" || h.Node != "n1" {
			t.Errorf("%s got head %+v", n.name, h)
		}
	}
	publish(nodes[0], "def456")
	if h := next(nodes[1]); h.Commit != "def456" || h.Node != "n0" {
		t.Errorf("publisher n1 got %+v, want only n0's later head", h)
	}
}

// TestUnlockFailureDoesNotHoldOthers: a lock key unlock could not delete
// (every attempt met a member cut off, or etcd was down) stays under the
// node's live lease; the reconcile loop deletes it, so another node's
// Lock goes through, and the node's own next Lock starts from a new key
// that nothing deletes under it.
func TestUnlockFailureDoesNotHoldOthers(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 3)
	codes := codesOf(reg)
	nodes := []*node{startNode(t, "n0", etcd.Endpoints(), reg, oneGroup()), startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())}
	waitFor(t, 30*time.Second, "two nodes settled", func() bool { return settled(nodes, codes) })
	n0, n1 := nodes[0].c, nodes[1].c

	// What unlock leaves behind when its attempts failed.
	k, err := n0.lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n0.mu.Lock()
	n0.staleLocks[k] = struct{}{}
	n0.mu.Unlock()
	n0.poke()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	unlock, err := n1.Lock(ctx)
	if err != nil {
		t.Fatalf("n1's Lock behind n0's stale key: %v", err)
	}
	unlock()

	// Left again, then n0 locks before its reconcile loop may have run.
	if k, err = n0.lock(t.Context()); err != nil {
		t.Fatal(err)
	}
	n0.mu.Lock()
	n0.staleLocks[k] = struct{}{}
	n0.mu.Unlock()
	unlock, err = n0.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	n0.poke()
	resp, err := etcd.Client().Get(ctx, k.key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || resp.Kvs[0].CreateRevision == k.rev {
		t.Fatalf("n0's key under its second Lock: %v, want one created after the stale one (revision %d)", resp.Kvs, k.rev)
	}
	n0.mu.Lock()
	left := len(n0.staleLocks)
	n0.mu.Unlock()
	if left != 0 {
		t.Errorf("%d stale lock keys remembered", left)
	}
}
