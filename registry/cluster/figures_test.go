package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestMain runs a cluster node instead of the tests when the figures test
// starts this binary as a child to kill it with SIGKILL.
func TestMain(m *testing.M) {
	if eps := os.Getenv("TRUNKD_CLUSTER_CHILD"); eps != "" {
		os.Exit(runChild(strings.Split(eps, ","), os.Getenv("TRUNKD_CLUSTER_CHILD_DIR")))
	}
	os.Exit(m.Run())
}

// runChild runs node "victim" on the providers of dir until killed.
func runChild(endpoints []string, dir string) int {
	reg, err := registry.Open(registry.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := Open(Config{Node: "victim", Group: registry.AnyServer, Endpoints: endpoints}, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sub := reg.Subscribe()
	go func() {
		for v := range c.Subscribe().C() {
			c.Applied(v.Generation())
		}
	}()
	_ = c.Run(ctx, sub.C())
	return 0
}

// TestClusterFigures prints the figures of the package doc, measured on a
// 3-member etcd on loopback: 1,000 owner keys claimed in batches of 100,
// keys of a kill -9'd holder freed, and the latency of a watch on another
// member. Set TRUNKD_CLUSTER_FIGURES=1 (make bench-cluster).
func TestClusterFigures(t *testing.T) {
	if os.Getenv("TRUNKD_CLUSTER_FIGURES") == "" {
		t.Skip("set TRUNKD_CLUSTER_FIGURES=1")
	}
	etcd := startEtcd(t)
	figureClaims(t, etcd.Endpoints())
	figureWatch(t, etcd.Client(), etcd.Endpoints())
	figureKill(t, etcd.Client(), etcd.Endpoints(), 5)
	figureFence(t, 5)
}

// figureFence cuts a node off from etcd rounds times (its proxies
// blackholed) and prints how long before the first of its keys was seen
// deleted it had fenced.
func figureFence(t *testing.T, rounds int) {
	etcd := startEtcd(t)
	reg := providers(t, 100)
	codes := codesOf(reg)
	proxies, viaProxy := proxied(t, etcd)
	victim := startNode(t, "victim", viaProxy, reg, oneGroup())
	other := startNode(t, "other", etcd.Endpoints(), reg, oneGroup())
	nodes := []*node{victim, other}
	var gaps []time.Duration
	for round := 0; round < rounds; round++ {
		waitFor(t, 30*time.Second, "settled", func() bool { return settled(nodes, codes) })
		theirs := victim.last().Owned()
		dels := watchDeletes(t, etcd.Client())
		cut := time.Now()
		for _, p := range proxies {
			p.Set(etcdtest.Blackhole)
		}
		waitFor(t, 30*time.Second, "the other owns all", func() bool { return settled(nodes[1:], codes) })
		var fencedAt time.Time
		for _, s := range victim.history() {
			if s.at.After(cut) && s.v.Fenced() {
				fencedAt = s.at
				break
			}
		}
		first, n := dels.first(theirs)
		if fencedAt.IsZero() || n != len(theirs) || !fencedAt.Before(first) {
			t.Fatalf("round %d: fenced at %v, %d of %d keys deleted, first at %v", round, fencedAt, n, len(theirs), first)
		}
		gaps = append(gaps, first.Sub(fencedAt))
		for _, p := range proxies {
			p.Set(etcdtest.Forward)
		}
	}
	slices.Sort(gaps)
	t.Logf("FIGURE node cut off from etcd fenced before its first key was seen deleted by: min %v, p50 %v, max %v (%d partitions, TTL 3s, margin 1s)",
		gaps[0].Round(time.Millisecond), gaps[len(gaps)/2].Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond), rounds)
}

// figureClaims times claiming 1,000 keys, 100 per transaction, five times.
func figureClaims(t *testing.T, endpoints []string) {
	var codes []string
	for i := 0; i < 1000; i++ {
		codes = append(codes, fmt.Sprintf("claim-%04d", i))
	}
	var took []time.Duration
	for round := 0; round < 5; round++ {
		c, err := Open(Config{Node: fmt.Sprintf("claimer%d", round), Group: -1, Endpoints: endpoints,
			Prefix: fmt.Sprintf("/figures%d", round)}, Options{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		lease, err := c.cl.Grant(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := c.txnEach(t.Context(), lease.ID, codes, c.claimOp(lease.ID), nil); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		if n := len(c.mirror.owners); n != 1000 {
			t.Fatalf("%d keys claimed", n)
		}
		c.Close()
	}
	slices.Sort(took)
	t.Logf("FIGURE 1,000 owner keys claimed in 10 transactions of 100: p50 %v, min %v, max %v (5 rounds)",
		took[2].Round(100*time.Microsecond), took[0].Round(100*time.Microsecond), took[4].Round(100*time.Microsecond))
}

// figureWatch times puts through the first member until a watcher on the
// second sees them.
func figureWatch(t *testing.T, _ *clientv3.Client, endpoints []string) {
	put := newClient(t, endpoints[0])
	watch := newClient(t, endpoints[1])
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wch := watch.Watch(ctx, "/figures/watch")
	var lat []time.Duration
	for i := 0; i < 200; i++ {
		start := time.Now()
		if _, err := put.Put(ctx, "/figures/watch", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wch:
			lat = append(lat, time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatal("watch event missing")
		}
	}
	slices.Sort(lat)
	t.Logf("FIGURE put on one member seen by a watcher on another: p50 %v, p90 %v, max %v (200 puts, put round trip included)",
		lat[100].Round(10*time.Microsecond), lat[180].Round(10*time.Microsecond), lat[199].Round(10*time.Microsecond))
}

func newClient(t *testing.T, endpoint string) *clientv3.Client {
	cl, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// figureKill starts a node in a child process beside an in-process heir,
// kills the child with SIGKILL once it holds its share of 100 trunks, and
// times until etcd freed the child's keys and until the heir owns every
// trunk.
func figureKill(t *testing.T, cl *clientv3.Client, endpoints []string, rounds int) {
	reg := providers(t, 100)
	codes := codesOf(reg)
	heir := startNode(t, "heir", endpoints, reg, oneGroup())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var freed, taken []time.Duration
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "TRUNKD_CLUSTER_CHILD="+strings.Join(endpoints, ","),
			"TRUNKD_CLUSTER_CHILD_DIR="+reg.Dir())
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "the child holds its share", func() bool {
			v := heir.last()
			victims := 0
			for _, o := range v.Owners() {
				if o == "victim" {
					victims++
				}
			}
			return victims > 0 && victims+len(v.Owned()) == len(codes)
		})
		killed := time.Now()
		cmd.Process.Kill()
		cmd.Wait()
		waitFor(t, 30*time.Second, "the child's keys freed", func() bool {
			resp, err := cl.Get(t.Context(), DefaultPrefix+"/owner/", clientv3.WithPrefix())
			return err == nil && !slices.ContainsFunc(resp.Kvs, func(kv *mvccpb.KeyValue) bool { return string(kv.Value) == "victim" })
		})
		freed = append(freed, time.Since(killed))
		waitFor(t, 30*time.Second, "the heir owns every trunk", func() bool { return len(heir.last().Owned()) == len(codes) })
		taken = append(taken, time.Since(killed))
		waitFor(t, 30*time.Second, "the child's membership gone", func() bool { return len(heir.last().Nodes()) == 1 })
		if t.Failed() {
			t.Log(out.String())
		}
	}
	slices.Sort(taken)
	slices.Sort(freed)
	t.Logf("FIGURE keys of a kill -9'd holder (lease TTL 3s) freed after: min %v, p50 %v, max %v (%d kills, 10 ms polling)",
		freed[0].Round(10*time.Millisecond), freed[len(freed)/2].Round(10*time.Millisecond), freed[len(freed)-1].Round(10*time.Millisecond), rounds)
	t.Logf("FIGURE kill -9 of a node (lease TTL 3s): the other node owns (its View) every trunk of the killed one after min %v, p50 %v, max %v (%d kills)",
		taken[0].Round(10*time.Millisecond), taken[len(taken)/2].Round(10*time.Millisecond), taken[len(taken)-1].Round(10*time.Millisecond), rounds)
}
