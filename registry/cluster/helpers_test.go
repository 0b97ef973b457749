package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// testLogger logs to the test at debug level when TRUNKD_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("TRUNKD_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// providers writes n provider files and opens a registry on them.
func providers(t testing.TB, n int) *registry.Registry {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		code := fmt.Sprintf("t%04d", i)
		data := fmt.Sprintf("code: %s\nusername: u%d\ndomain: cluster.trunkd.test\nproxyaddr: 127.0.0.1\nproxyport: 5060\n", code, i)
		if err := os.WriteFile(filepath.Join(dir, code+".yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Snapshot().Len(); got != n {
		t.Fatalf("registry holds %d providers, want %d: %v", got, n, reg.Snapshot().Invalid())
	}
	return reg
}

// seen is one View as the test's consumer received it, with the time the
// test read when it did.
type seen struct {
	at time.Time
	v  *View
}

// node is one in-process cluster node whose consumer (standing in for the
// renderer) records every View and confirms it applied at once.
type node struct {
	name string
	c    *Cluster
	prom *prometheus.Registry
	stop func()

	mu    sync.Mutex
	views []seen
	hold  bool // while set, the consumer does not confirm (a stuck renderer)
}

// startNode opens and runs a node on endpoints with the registry's
// snapshots; it stops in t.Cleanup.
func startNode(t testing.TB, name string, endpoints []string, reg *registry.Registry, cfg Config) *node {
	t.Helper()
	cfg.Node, cfg.Endpoints = name, endpoints
	prom := prometheus.NewRegistry()
	c, err := Open(cfg, Options{Logger: testLogger(t).With("node", name), Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, c: c, prom: prom}
	rsub, vsub := reg.Subscribe(), c.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = c.Run(ctx, rsub.C()) }()
	go func() { defer wg.Done(); n.consume(ctx, vsub.C()) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() { cancel(); wg.Wait(); rsub.Close(); vsub.Close(); c.Close() })
	}
	t.Cleanup(n.stop)
	return n
}

func (n *node) consume(ctx context.Context, views <-chan *View) {
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-views:
			n.mu.Lock()
			n.views = append(n.views, seen{at: time.Now(), v: v})
			hold := n.hold
			n.mu.Unlock()
			if !hold {
				n.c.Applied(v.Generation())
			}
		}
	}
}

// last returns the newest View the consumer received (the current one
// before it received any).
func (n *node) last() *View {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.views) == 0 {
		return n.c.View()
	}
	return n.views[len(n.views)-1].v
}

// history returns a copy of every View received so far.
func (n *node) history() []seen {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.views)
}

// metric returns the value of the unlabelled metric name.
func (n *node) metric(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := n.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("%s: no metric %s", n.name, name)
	return 0
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled reports whether every node is unfenced, sees all of them live
// and agrees on one owner per code, each owner owning what it is recorded
// for.
func settled(nodes []*node, codes []string) bool {
	var names []string
	for _, n := range nodes {
		names = append(names, n.name)
	}
	slices.Sort(names)
	var first map[string]string
	for _, n := range nodes {
		v := n.last()
		if v.Fenced() || !slices.Equal(v.Nodes(), names) {
			return false
		}
		owners := v.Owners()
		if len(owners) != len(codes) {
			return false
		}
		if first == nil {
			first = owners
		} else if !maps.Equal(first, owners) {
			return false
		}
		for _, code := range codes {
			if v.Owns(code) != (owners[code] == n.name) {
				return false
			}
		}
	}
	return true
}

// codesOf returns the active codes of the registry's snapshot.
func codesOf(reg *registry.Registry) []string { return activeCodes(reg.Snapshot(), registry.AnyServer) }

// oneGroup is the config of a node without server_index.
func oneGroup() Config { return Config{Group: registry.AnyServer} }

// startEtcd starts a 3-member etcd cluster.
func startEtcd(t testing.TB) *etcdtest.Cluster { return etcdtest.Start(t, 3) }

// proxied puts a proxy the test controls in front of each member of etcd
// and returns them with their endpoints, in member order.
func proxied(t *testing.T, etcd *etcdtest.Cluster) ([]*etcdtest.Proxy, []string) {
	t.Helper()
	var proxies []*etcdtest.Proxy
	var endpoints []string
	for _, m := range etcd.Members {
		p := etcdtest.NewProxy(t, m.ClientURL)
		proxies = append(proxies, p)
		endpoints = append(endpoints, p.URL())
	}
	return proxies, endpoints
}
