package cluster

import (
	"context"
	"fmt"
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
	proxies, viaProxy := proxied(t, etcd)
	n0 := startNode(t, "n0", viaProxy, reg, oneGroup())
	n1 := startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())
	n2 := startNode(t, "n2", etcd.Endpoints(), reg, oneGroup())
	nodes := []*node{n0, n1, n2}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	stop := make(chan struct{})
	slack := watchSlack(n0.c, stop)
	defer func() {
		close(stop)
		t.Logf("n0's least time left before its fence deadline while members were cut off: %v (loaded machine)",
			(<-slack).Round(time.Millisecond))
	}()
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

// TestLockWithOneMemberCutOff: with one of three members cut off by a hung
// connection, a node's Lock, unlock and PublishHead move on to the members
// it can reach: no request waits for gRPC's keep-alive (10 s and more) to
// drop the hung one.
func TestLockWithOneMemberCutOff(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 3)
	codes := codesOf(reg)
	proxies, viaProxy := proxied(t, etcd)
	nodes := []*node{startNode(t, "n0", viaProxy, reg, oneGroup()), startNode(t, "n1", etcd.Endpoints(), reg, oneGroup())}
	waitFor(t, 30*time.Second, "two nodes settled", func() bool { return settled(nodes, codes) })
	n0 := nodes[0].c
	proxies[0].Set(etcdtest.Blackhole)
	cut := time.Now()
	var worst time.Duration
	// gRPC's keep-alive drops the hung member after 10 s: write sections
	// for 5 s, each allowed 5 s (it took up to 2 s on a loaded machine,
	// and waited for the keep-alive before).
	for i := 0; time.Since(cut) < 5*time.Second; i++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		unlock, err := n0.Lock(ctx)
		if err == nil {
			err = n0.PublishHead(ctx, fmt.Sprintf("c%d", i))
			unlock()
		}
		cancel()
		if err != nil {
			t.Fatalf("write section %d, %v after the cut: %v", i, start.Sub(cut).Round(time.Millisecond), err)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("write sections with one member cut off: the slowest took %v (loaded machine)", worst.Round(time.Millisecond))
}

// watchSlack samples how long c has left before its fence deadline every
// 5 ms until stop closes, then sends the least value seen.
func watchSlack(c *Cluster, stop <-chan struct{}) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		least := time.Duration(1 << 62)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- least
				return
			case <-tick.C:
			}
			c.mu.Lock()
			if !c.ls.fenced && c.ls.id != 0 {
				least = min(least, c.ls.deadline.Sub(c.clock.Now()))
			}
			c.mu.Unlock()
		}
	}()
	return out
}
