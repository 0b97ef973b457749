package cluster

import (
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
