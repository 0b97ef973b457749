package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trunkd/trunkd/registry/cluster"
	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestClusterFigures prints issue 15's "Done when" figures (make
// bench-cluster; TRUNKD_FIGURES=1): 100 trunks on three nodes of one group,
// three etcd members, each node registering its trunks through its prober
// in bind mode. Figures are printed as FIGURE lines; the checks that make
// a figure wrong (two registrants, a REGISTER of the new owner before the
// old owner's last, a lost or doubled write) fail the test.
func TestClusterFigures(t *testing.T) {
	if os.Getenv("TRUNKD_FIGURES") == "" {
		t.Skip("set TRUNKD_FIGURES=1 (make bench-cluster)")
	}
	e := newClusterEnv(t, 100, 3)
	for _, n := range e.nodes {
		e.start(n)
	}
	owners := e.settled("three nodes started", e.nodes)
	e.figureSteady(owners)
	e.figureIdle()
	owners = e.figureKill9(owners)
	owners = e.figureComeBack(owners)
	owners = e.figurePartition(owners)
	owners = e.figureLeaderKill(owners)
	e.figureWrites(owners)
	t.Logf("FIGURE 7 without cluster: nothing of this runs: TestNoClusterNoClusterParts (no cluster section, no cluster metric) and every other test of make test run without it")
}

// figureIdle: the context switches of each trunkd process (all its
// threads) per second over 5 s of steady state: what a node costs the
// machine while nothing changes.
func (e *clusterEnv) figureIdle() {
	const window = 5 * time.Second
	before := map[string]int{}
	for _, n := range e.nodes {
		before[n.name] = ctxSwitches(e.t, n.proc.cmd.Process.Pid)
	}
	t0 := time.Now()
	time.Sleep(window) // the measurement window, not a wait for a result
	took := time.Since(t0).Seconds()
	var per []string
	for _, n := range e.nodes {
		d := ctxSwitches(e.t, n.proc.cmd.Process.Pid) - before[n.name]
		per = append(per, fmt.Sprintf("%s %.0f", n.name, float64(d)/took))
	}
	e.t.Logf("FIGURE idle: context switches per second of each trunkd over %v of steady state: %s", window, strings.Join(per, ", "))
}

// ctxSwitches sums the voluntary and involuntary context switches of every
// thread of process pid.
func ctxSwitches(t *testing.T, pid int) int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // the thread ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				sum += n
			}
		}
	}
	return sum
}

// figureSteady: every trunk registered from exactly one node.
func (e *clusterEnv) figureSteady(owners map[string]string) {
	ips := e.ipOf()
	one := 0
	for c, bs := range e.reg.bound(e.codes) {
		if len(bs) == 1 && strings.HasPrefix(bs[0], ips[owners[c]]+":") {
			one++
		}
	}
	per := map[string]int{}
	for _, o := range owners {
		per[o]++
	}
	e.t.Logf("FIGURE 1 steady state: %d of %d trunks registered from exactly one node, its owner (owned per node: %v)", one, len(e.codes), per)
	if one != len(e.codes) {
		e.t.Errorf("steady state: %d of %d trunks have exactly one binding", one, len(e.codes))
	}
}

// figureKill9: kill -9 of the busiest node; the time from the kill to the
// first REGISTER of each of its trunks from another node.
func (e *clusterEnv) figureKill9(owners map[string]string) map[string]string {
	victim := e.busiest(owners)
	t0 := time.Now()
	victim.kill9(e.t)
	after := e.settled("after kill -9 of "+victim.name, e.without(victim))
	e.handoverOrder(t0, owners, after)
	ips := e.ipOf()
	var ds []time.Duration
	for _, c := range e.codes {
		if owners[c] != victim.name {
			continue
		}
		for _, ev := range e.reg.since(t0) {
			if ev.user == c && ev.expires > 0 && ev.source == ips[after[c]] {
				ds = append(ds, ev.at.Sub(t0))
				break
			}
		}
	}
	p50, mx := pct(ds, 50), pct(ds, 100)
	e.t.Logf("FIGURE 2 kill -9 of %s (trunkd and its registrant): its %d trunks registered by another node after p50 %v, max %v (lease_ttl 3s; target TTL + 2 s = 5s)",
		victim.name, len(ds), p50.Round(time.Millisecond), mx.Round(time.Millisecond))
	if len(ds) != count(owners, victim.name) {
		e.t.Errorf("%d of %d trunks of %s registered elsewhere", len(ds), count(owners, victim.name), victim.name)
	}
	return after
}

// figureComeBack: the killed node restarts; about a third of the trunks
// move back, each stopped on its old owner before the new one registers.
// Per trunk it also splits the handover: the old owner's un-REGISTER →
// its owner key deleted in etcd (the consumers report the View applied,
// the cluster deletes the key) → the new owner's first REGISTER.
func (e *clusterEnv) figureComeBack(owners map[string]string) map[string]string {
	var back *clusterNode
	for _, n := range e.nodes {
		if n.proc == nil {
			back = n
		}
	}
	deleted := e.watchOwnerDeletes()
	t0 := time.Now()
	e.start(back)
	after := e.settled(back.name+" back", e.nodes)
	moved := e.handoverOrder(t0, owners, after)
	took := time.Since(t0)
	release, claim := e.handoverGaps(t0, owners, after, deleted())
	e.t.Logf("FIGURE 6 %s comes back: %d of %d trunks moved back to it in %v, every one stopped on its old owner before %s registered it; per trunk: old owner's un-REGISTER → its owner key deleted p50 %v, max %v; key deleted → new owner's first REGISTER p50 %v, max %v",
		back.name, moved, len(e.codes), took.Round(time.Millisecond), back.name,
		pct(release, 50).Round(time.Millisecond), pct(release, 100).Round(time.Millisecond),
		pct(claim, 50).Round(time.Millisecond), pct(claim, 100).Round(time.Millisecond))
	return after
}

// watchOwnerDeletes watches the owner keys from now on; the function it
// returns gives the time each code's key was first seen deleted.
func (e *clusterEnv) watchOwnerDeletes() func() map[string]time.Time {
	prefix := cluster.DefaultPrefix + "/owner/"
	ctx, cancel := context.WithCancel(e.t.Context())
	wch := e.etcd.Client().Watch(ctx, prefix, clientv3.WithPrefix())
	var mu sync.Mutex
	at := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for wr := range wch {
			now := time.Now()
			mu.Lock()
			for _, ev := range wr.Events {
				code := strings.TrimPrefix(string(ev.Kv.Key), prefix)
				if _, ok := at[code]; ev.Type == clientv3.EventTypeDelete && !ok {
					at[code] = now
				}
			}
			mu.Unlock()
		}
	}()
	return func() map[string]time.Time {
		cancel()
		<-done
		return at
	}
}

// handoverGaps splits, for every trunk that moved from before's owner to
// after's, the time from the old owner's last REGISTER (its un-REGISTER)
// to the new owner's first, as the registrar saw them after t0, at the
// deletion of its owner key.
func (e *clusterEnv) handoverGaps(t0 time.Time, before, after map[string]string, deleted map[string]time.Time) (release, claim []time.Duration) {
	ips, events := e.ipOf(), e.reg.since(t0)
	for _, c := range e.codes {
		from, to := before[c], after[c]
		var lastOld, firstNew time.Time
		for _, ev := range events {
			switch {
			case from == to || ev.user != c:
			case ev.source == ips[from]:
				lastOld = ev.at
			case ev.source == ips[to] && firstNew.IsZero():
				firstNew = ev.at
			}
		}
		if del, ok := deleted[c]; ok && !lastOld.IsZero() && firstNew.After(lastOld) {
			release = append(release, del.Sub(lastOld))
			claim = append(claim, firstNew.Sub(del))
		}
	}
	return release, claim
}

// figurePartition: one node cut off from etcd (its proxies hold every
// byte); for every trunk, its last REGISTER from the old owner before the
// first from the new owner; then the partition heals.
func (e *clusterEnv) figurePartition(owners map[string]string) map[string]string {
	cut := e.busiest(owners)
	t0 := time.Now()
	cut.cut(etcdtest.Blackhole)
	split := e.settled(cut.name+" cut off", e.without(cut))
	moved := e.handoverOrder(t0, owners, split)
	lastOld, firstNew := e.gap(t0, cut, owners, split)
	e.t.Logf("FIGURE 3 %s cut off from etcd: %d trunks moved, for each the old owner's last REGISTER before the new owner's first (checked per trunk; over all of them: %s's last REGISTER %v after the cut, the first of a new owner %v after it)",
		cut.name, moved, cut.name, lastOld.Sub(t0).Round(time.Millisecond), firstNew.Sub(t0).Round(time.Millisecond))
	cut.cut(etcdtest.Forward)
	t1 := time.Now()
	healed := e.settled(cut.name+" reconnected", e.nodes)
	e.handoverOrder(t1, split, healed)
	return healed
}

// gap returns the cut node's last REGISTER and the earliest first REGISTER
// of a new owner, over the trunks that moved away from it.
func (e *clusterEnv) gap(t0 time.Time, cut *clusterNode, before, after map[string]string) (lastOld, firstNew time.Time) {
	ips := e.ipOf()
	for _, ev := range e.reg.since(t0) {
		if before[ev.user] != cut.name || after[ev.user] == cut.name {
			continue
		}
		if ev.source == cut.ip && ev.at.After(lastOld) {
			lastOld = ev.at
		}
		if ev.source == ips[after[ev.user]] && (firstNew.IsZero() || ev.at.Before(firstNew)) {
			firstNew = ev.at
		}
	}
	return lastOld, firstNew
}

// figureLeaderKill: kill -9 of the etcd leader; no trunk changes owner and
// no node fences while the members elect a new leader.
func (e *clusterEnv) figureLeaderKill(owners map[string]string) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	leader, err := e.etcd.Leader(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	changes0 := e.changesTotal()
	t0 := time.Now()
	leader.Kill()
	if err := e.etcd.WaitWritable(ctx); err != nil {
		e.t.Fatal(err)
	}
	elected := time.Since(t0)
	// Watch for two lease TTLs after the election: a fence or a move would
	// show in that time.
	fenced := map[string]bool{}
	for time.Since(t0) < elected+6*time.Second {
		for _, n := range e.nodes {
			if st, ok := n.status(); ok && st.Cluster.Fenced {
				fenced[n.name] = true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := e.settled("after the etcd leader was killed", e.nodes)
	movedNow := 0
	for c := range owners {
		if after[c] != owners[c] {
			movedNow++
		}
	}
	changed := e.changesTotal() - changes0
	e.t.Logf("FIGURE 4 kill -9 of the etcd leader %s: writable again after %v; trunks that changed owner: %d (ownership changes counted by the nodes: %d); nodes fenced meanwhile: %d",
		leader.Name, elected.Round(time.Millisecond), movedNow, changed, len(fenced))
	if movedNow != 0 || changed != 0 {
		e.t.Errorf("the etcd leader's death moved %d trunks (%d changes)", movedNow, changed)
	}
	if err := leader.Start(); err != nil {
		e.t.Fatal(err)
	}
	return after
}

// changesTotal sums trunkd_cluster_ownership_changes_total over the nodes.
func (e *clusterEnv) changesTotal() int {
	total := 0
	for _, n := range e.nodes {
		_, m := get(e.t, n.proc.base+"/metrics")
		for _, line := range strings.Split(m, "\n") {
			if v, ok := strings.CutPrefix(line, "trunkd_cluster_ownership_changes_total "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += int(f)
			}
		}
	}
	return total
}

// ack is one acknowledged PATCH.
type ack struct {
	code, author string
	value        int
	at           time.Time
}

// figureWrites: 300 PATCHes with If-Match spread over the three APIs while
// one node is killed and restarted; every acknowledged write is once on the
// remote with its author, and seen on every running node (latency from the
// acknowledgement).
func (e *clusterEnv) figureWrites(_ map[string]string) {
	const total, hot = 300, 10
	ids := map[string]string{}
	for _, c := range e.codes[:hot] {
		ids[c] = e.id(e.t, e.nodes[0], c)
	}
	w := &writes{e: e, ids: ids, codes: e.codes[:hot], next: 1000}
	w.slots.Store(total)
	var wg sync.WaitGroup
	for i, n := range e.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); w.writer(n, []string{"alice", "bob", "carol"}[i], total) }()
	}
	victim := e.nodes[2]
	waitUntil(e.t, "100 writes acknowledged", func() bool { return w.acked() >= total/3 })
	rejected := strings.Count(victim.proc.log.String(), "git push rejected")
	victim.kill9(e.t)
	w.down.Store(victim.name)
	e.start(victim)
	w.down.Store("")
	wg.Wait()
	w.see.Wait()
	acks := w.all()
	onRemote, doubled := e.onRemote(acks)
	seen := pct(w.latencies(), 100)
	for _, n := range e.nodes {
		rejected += strings.Count(n.proc.log.String(), "git push rejected")
	}
	e.t.Logf("FIGURE 5 %d PATCHes with If-Match over three APIs while %s was killed and restarted: %d acknowledged writes, %d on the remote exactly once with their author, %d more than once; 412 retries %d, refused or unreachable %d; pushes rejected and re-applied %d; seen on every running node after p50 %v, max %v (target 1 s)",
		total, victim.name, len(acks), onRemote, doubled, w.retries.Load(), w.refused.Load(), rejected,
		pct(w.latencies(), 50).Round(time.Millisecond), seen.Round(time.Millisecond))
	if onRemote != len(acks) || doubled != 0 {
		e.t.Errorf("%d of %d acknowledged writes on the remote once, %d more than once", onRemote, len(acks), doubled)
	}
}

// writes is the state of the write figure.
type writes struct {
	e       *clusterEnv
	ids     map[string]string
	codes   []string
	mu      sync.Mutex
	next    int
	acks    []ack
	lat     []time.Duration
	slots   atomic.Int64 // PATCHes still to acknowledge, minus those in flight
	retries atomic.Int64
	refused atomic.Int64
	down    atomic.Value // name of the node being restarted
	see     sync.WaitGroup
}

func (w *writes) acked() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.acks) }

func (w *writes) all() []ack { w.mu.Lock(); defer w.mu.Unlock(); return slices.Clone(w.acks) }

func (w *writes) latencies() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.lat)
}

// writer PATCHes random hot trunks on node n as author until total writes
// are acknowledged: GET for the ETag, PATCH with If-Match; a 412 reads
// again, a refused or unreachable node is tried again a little later. A
// PATCH takes a slot first, so that exactly total are acknowledged.
func (w *writes) writer(n *clusterNode, author string, total int) {
	for w.acked() < total {
		proc := n.running()
		if proc == nil || !w.take() {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if !w.once(proc, author) {
			w.slots.Add(1)
		}
	}
}

// take reserves a slot for one PATCH; false when none is left.
func (w *writes) take() bool {
	for {
		n := w.slots.Load()
		if n <= 0 {
			return false
		}
		if w.slots.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// once reads a random hot trunk on proc and PATCHes it with If-Match;
// true when the write was acknowledged.
func (w *writes) once(proc *trunkdProcess, author string) bool {
	code := w.codes[rand.IntN(len(w.codes))]
	url := proc.base + "/rest/v1/uc/providers/" + w.ids[code]
	etag, ok := w.etag(url, author)
	if !ok {
		w.refused.Add(1)
		time.Sleep(20 * time.Millisecond)
		return false
	}
	w.mu.Lock()
	v := w.next
	w.next++
	w.mu.Unlock()
	switch w.patch(url, author, etag, v) {
	case http.StatusOK:
		a := ack{code: code, author: author, value: v, at: time.Now()}
		w.mu.Lock()
		w.acks = append(w.acks, a)
		w.mu.Unlock()
		w.see.Add(1)
		go w.watch(a)
		return true
	case http.StatusPreconditionFailed:
		w.retries.Add(1)
	default:
		w.refused.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// etag reads the provider's ETag; false when the node does not answer.
func (w *writes) etag(url, author string) (string, bool) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer tok-"+author)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	res.Body.Close()
	return res.Header.Get("ETag"), res.StatusCode == http.StatusOK
}

// patch sets trunksout to v with If-Match; 0 when the node does not answer.
func (w *writes) patch(url, author, etag string, v int) int {
	req, _ := http.NewRequest(http.MethodPatch, url, strings.NewReader(fmt.Sprintf(`{"trunksout":%d}`, v)))
	req.Header.Set("Authorization", "Bearer tok-"+author)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", etag)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// watch polls every running node until it shows a or a later acknowledged
// write of the same trunk, and records the slowest node's latency.
func (w *writes) watch(a ack) {
	defer w.see.Done()
	var slowest time.Duration
	for _, n := range w.e.nodes {
		proc := n.running()
		if proc == nil || w.down.Load() == n.name {
			continue
		}
		url := proc.base + "/rest/v1/uc/providers/" + w.ids[a.code]
		deadline := time.Now().Add(waitTimeout)
		for time.Now().Before(deadline) {
			if n.running() != proc || w.down.Load() == n.name {
				break // killed meanwhile: it is not expected to show a
			}
			if w.shows(url, a) {
				slowest = max(slowest, time.Since(a.at))
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	w.mu.Lock()
	w.lat = append(w.lat, slowest)
	w.mu.Unlock()
}

// shows tells whether the node at url holds a's value or a value
// acknowledged after it for the same trunk.
func (w *writes) shows(url string, a ack) bool {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer tok-alice")
	res, err := http.DefaultClient.Do(req)
	if err != nil { // the node is being killed: watch notices
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	i := strings.Index(body, `"trunksout": `)
	if i < 0 {
		return false
	}
	rest := body[i+len(`"trunksout": `):]
	v, _ := strconv.Atoi(rest[:strings.IndexAny(rest, ",\n}")])
	if v == a.value {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	after := false
	for _, o := range w.acks {
		if o.code == a.code && o.value == a.value {
			after = true
		} else if after && o.code == a.code && o.value == v {
			return true
		}
	}
	return false
}

// onRemote counts the acknowledged writes found exactly once on the
// remote, as a commit by their author adding "trunksout: V" to their
// trunk's file, and those found more than once.
func (e *clusterEnv) onRemote(acks []ack) (once, doubled int) {
	log := humanGit(e.t, e.rem.bare, "log", "-p", "--format=COMMIT %an", "main", "--", "providers/")
	type key struct {
		code, author string
		value        int
	}
	found := map[key]int{}
	var author, file string
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(line, "COMMIT "):
			author = strings.TrimPrefix(line, "COMMIT ")
		case strings.HasPrefix(line, "+++ b/providers/"):
			file = strings.TrimSuffix(strings.TrimPrefix(line, "+++ b/providers/"), ".yaml")
		case strings.HasPrefix(line, "+trunksout: "):
			v, _ := strconv.Atoi(strings.TrimPrefix(line, "+trunksout: "))
			found[key{file, author, v}]++
		}
	}
	for _, a := range acks {
		switch found[key{a.code, a.author, a.value}] {
		case 1:
			once++
		case 0:
		default:
			doubled++
		}
	}
	return once, doubled
}

// pct is the p-th percentile of ds (100: the maximum); 0 for none.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
