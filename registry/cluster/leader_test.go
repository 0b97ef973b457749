package cluster

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"
)

// TestLeaderKillKeepsOwners: kill -9 of the etcd leader changes no owner
// (a new leader keeps the leases) and every node keeps its lease.
func TestLeaderKillKeepsOwners(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 300)
	codes := codesOf(reg)
	var nodes []*node
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), etcd.Endpoints(), reg, oneGroup()))
	}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	owners := nodes[0].last().Owners()
	leases := map[string]int64{}
	for _, n := range nodes {
		leases[n.name] = n.last().Lease().ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := etcd.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	leader.Kill()
	// A write lock asked for during the election waits for the new leader
	// (etcd answers "no leader" or "request timed out" meanwhile) instead
	// of failing the API write that asked for it.
	unlock, err := nodes[0].c.Lock(ctx)
	if err != nil {
		t.Fatalf("lock taken during the election: %v", err)
	}
	unlock()
	t.Logf("lock asked for at the kill taken after %v", time.Since(killed).Round(time.Millisecond))
	if err := etcd.WaitWritable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed leader %s; writable again after %v", leader.Name, time.Since(killed).Round(time.Millisecond))
	// Every node proves its lease alive again after the election.
	waitFor(t, 20*time.Second, "every node acknowledged after the kill", func() bool {
		for _, n := range nodes {
			if n.last().Fenced() || !n.c.Lease().LastAck.After(killed) {
				return false
			}
		}
		return true
	})
	waitFor(t, 20*time.Second, "settled", func() bool { return settled(nodes, codes) })
	for _, n := range nodes {
		v := n.last()
		if v.Lease().ID != leases[n.name] {
			t.Errorf("%s: lease %x, was %x", n.name, v.Lease().ID, leases[n.name])
		}
		fences := 0
		for _, s := range n.history() {
			if s.at.After(killed) && s.v.Fenced() {
				fences++
			}
		}
		if fences > 0 {
			t.Logf("%s fenced during the election (the outage exceeded its budget on this machine)", n.name)
		}
	}
	if !maps.Equal(owners, nodes[0].last().Owners()) {
		t.Errorf("owners changed after the leader's kill")
	}
}

// TestQuorumLossFencesEveryNode: with two of three etcd members killed
// every node fences (no registrant rather than two); when the members
// return, the nodes resume with their leases and no trunk changes owner.
func TestQuorumLossFencesEveryNode(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 60)
	codes := codesOf(reg)
	var nodes []*node
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), etcd.Endpoints(), reg, oneGroup()))
	}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	owners := nodes[0].last().Owners()
	killed := time.Now()
	etcd.Members[1].Kill()
	etcd.Members[2].Kill()
	waitFor(t, 20*time.Second, "every node fenced", func() bool {
		for _, n := range nodes {
			if v := n.last(); !v.Fenced() || v.Owns(codes[0]) || len(v.Owned()) > 0 {
				return false
			}
		}
		return true
	})
	t.Logf("every node fenced %v after quorum loss", time.Since(killed).Round(time.Millisecond))
	for _, m := range etcd.Members[1:] {
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "settled after quorum returned", func() bool { return settled(nodes, codes) })
	if !maps.Equal(owners, nodes[0].last().Owners()) {
		t.Errorf("owners changed across the quorum loss")
	}
}
