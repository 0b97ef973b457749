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
// hold the lock at once; a fenced node is refused with ErrFenced; heads
// published by one node reach the others, never the publisher.
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

	var inside, maxInside, total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for _, n := range nodes {
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					unlock, err := n.c.Lock(t.Context())
					if err != nil {
						errs <- err
						return
					}
					if in := inside.Add(1); in > maxInside.Load() {
						maxInside.Store(in)
					}
					total.Add(1)
					time.Sleep(time.Millisecond) // a commit + push would take longer
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
	if maxInside.Load() != 1 || total.Load() != 60 {
		t.Fatalf("%d sections, at most %d at once; want 60, 1", total.Load(), maxInside.Load())
	}

	if err := nodes[1].c.PublishHead(t.Context(), "abc123"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{nodes[0], nodes[2]} {
		select {
		case h := <-n.c.Heads():
			if h.Commit != "abc123" || h.Node != "n1" {
				t.Errorf("%s got head %+v", n.name, h)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no head", n.name)
		}
	}
	select {
	case h := <-nodes[1].c.Heads():
		t.Errorf("publisher got its own head %+v", h)
	default:
	}

	p.Set(etcdtest.Blackhole)
	waitFor(t, 20*time.Second, "n0 fences", func() bool { return nodes[0].last().Fenced() })
	if _, err := nodes[0].c.Lock(t.Context()); !errors.Is(err, ErrFenced) {
		t.Fatalf("Lock on a fenced node: %v, want ErrFenced", err)
	}
}
