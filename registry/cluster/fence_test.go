package cluster

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// deletes records when the test's own watcher saw each owner key deleted.
type deletes struct {
	mu sync.Mutex
	at map[string]time.Time // code → first delete seen
}

func watchDeletes(t *testing.T, cl *clientv3.Client) *deletes {
	d := &deletes{at: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	wch := cl.Watch(ctx, DefaultPrefix+"/owner/", clientv3.WithPrefix())
	go func() {
		for wr := range wch {
			now := time.Now()
			d.mu.Lock()
			for _, ev := range wr.Events {
				code := strings.TrimPrefix(string(ev.Kv.Key), DefaultPrefix+"/owner/")
				if _, ok := d.at[code]; ev.Type == clientv3.EventTypeDelete && !ok {
					d.at[code] = now
				}
			}
			d.mu.Unlock()
		}
	}()
	return d
}

func (d *deletes) first(codes []string) (time.Time, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first time.Time
	n := 0
	for _, code := range codes {
		if at, ok := d.at[code]; ok {
			n++
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
	}
	return first, n
}

// TestFenceBeforeReleaseAndRejoin: a node cut off from etcd (its proxies
// blackholed) fences before etcd frees its keys; the others take its
// trunks; when it is reachable again it rejoins with a new lease and about
// a third of the trunks move back, each old owner's View without the trunk
// applied before the new owner's View with it.
func TestFenceBeforeReleaseAndRejoin(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 300)
	codes := codesOf(reg)
	proxies, viaProxy := proxied(t, etcd)
	victim := startNode(t, "n0", viaProxy, reg, oneGroup())
	nodes := []*node{victim,
		startNode(t, "n1", etcd.Endpoints(), reg, oneGroup()),
		startNode(t, "n2", etcd.Endpoints(), reg, oneGroup())}
	waitFor(t, 30*time.Second, "three nodes settled", func() bool { return settled(nodes, codes) })
	theirs := victim.last().Owned()
	dels := watchDeletes(t, etcd.Client())

	cut := time.Now()
	for _, p := range proxies {
		p.Set(etcdtest.Blackhole)
	}
	var fenced seen
	waitFor(t, 20*time.Second, "the cut-off node fences", func() bool {
		for _, s := range victim.history() {
			if s.at.After(cut) && s.v.Fenced() {
				fenced = s
				return true
			}
		}
		return false
	})
	waitFor(t, 20*time.Second, "the other two own every trunk", func() bool { return settled(nodes[1:], codes) })
	firstDel, n := dels.first(theirs)
	if n != len(theirs) {
		t.Fatalf("%d of the fenced node's %d keys seen deleted", n, len(theirs))
	}
	lastAck := fenced.v.Lease().LastAck
	t.Logf("cut at +0; fenced (seen by its consumer) at +%v; first of its %d keys deleted (seen) at +%v: %v after the fence; "+
		"keys freed %v after its last acknowledged keep-alive was sent",
		fenced.at.Sub(cut).Round(time.Millisecond), len(theirs), firstDel.Sub(cut).Round(time.Millisecond),
		firstDel.Sub(fenced.at).Round(time.Millisecond), firstDel.Sub(lastAck).Round(time.Millisecond))
	if !fenced.at.Before(firstDel) {
		t.Fatalf("fenced at %v, not before its first key was deleted at %v", fenced.at, firstDel)
	}
	checkNoOverlap(t, nodes, theirs)

	before := nodes[1].last().Owners()
	healed := time.Now()
	for _, p := range proxies {
		p.Set(etcdtest.Forward)
	}
	waitFor(t, 30*time.Second, "the node rejoins and all three settle", func() bool { return settled(nodes, codes) })
	moved := 0
	for code, o := range nodes[1].last().Owners() {
		if before[code] != o {
			moved++
		}
	}
	t.Logf("rejoined %v after the heal; %d of %d trunks moved back", time.Since(healed).Round(time.Millisecond), moved, len(codes))
	if moved < len(codes)/6 || moved > len(codes)/2 {
		t.Errorf("%d of %d trunks moved back, want about a third", moved, len(codes))
	}
	checkNoOverlap(t, nodes, codes)
}

// checkNoOverlap: from the Views the consumers received, no two nodes ever
// owned a code at once. A node owns a code from the time its consumer saw
// a View with it until the time it saw the next View without it.
func checkNoOverlap(t *testing.T, nodes []*node, codes []string) {
	t.Helper()
	type span struct {
		node     string
		from, to time.Time
	}
	spans := map[string][]span{}
	for _, n := range nodes {
		open := map[string]time.Time{}
		for _, s := range n.history() {
			for _, code := range codes {
				from, owning := open[code]
				switch {
				case s.v.Owns(code) && !owning:
					open[code] = s.at
				case !s.v.Owns(code) && owning:
					spans[code] = append(spans[code], span{n.name, from, s.at})
					delete(open, code)
				}
			}
		}
		for code, from := range open {
			spans[code] = append(spans[code], span{n.name, from, time.Now().Add(time.Hour)})
		}
	}
	for _, code := range codes {
		ss := spans[code]
		slices.SortFunc(ss, func(a, b span) int { return a.from.Compare(b.from) })
		for i := 1; i < len(ss); i++ {
			if ss[i].from.Before(ss[i-1].to) {
				t.Errorf("%s: %s owned it from %v before %s stopped at %v", code, ss[i].node,
					ss[i].from.Format("15:04:05.000"), ss[i-1].node, ss[i-1].to.Format("15:04:05.000"))
			}
		}
	}
}
