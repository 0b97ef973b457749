package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// The cluster's end-to-end harness (issue 15): on loopback only, a real
// 3-member etcd, a bare git remote with the trunks, a registrar that logs
// every REGISTER with its source address, and trunkd nodes as real
// processes of the test's build. Node i's prober listens on 127.0.0.(i+2)
// in bind mode, so a REGISTER's source address names the node that sent
// it. Each node reaches every etcd member through a proxy of its own that
// the test can cut. Linux only: other systems do not route all of
// 127.0.0.0/8 to loopback.

// regEvent is one authorised REGISTER with a Contact as the registrar saw
// it: a registration (expires > 0) or an un-REGISTER (expires 0).
type regEvent struct {
	at      time.Time
	user    string // the trunk's username = its code
	source  string // source IP: the node
	expires int
}

// registrar is the provider every trunk registers to.
type registrar struct {
	fp     *fakeprovider.Provider
	mu     sync.Mutex
	events []regEvent
}

// startRegistrar serves a fake provider with one user per trunk on
// 127.0.0.1, until the test ends.
func startRegistrar(t *testing.T, codes []string) *registrar {
	t.Helper()
	r := &registrar{}
	users := make([]fakeprovider.User, len(codes))
	for i, c := range codes {
		users[i] = fakeprovider.User{Username: c, Password: "pw-" + c}
	}
	fp, err := fakeprovider.New(fakeprovider.Config{Users: users, MaxExpires: 3600, Hook: r.note})
	if err != nil {
		t.Fatal(err)
	}
	if err := fp.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fp.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	r.fp = fp
	return r
}

// note records an authorised REGISTER with a Contact; the provider then
// handles it as usual.
func (r *registrar) note(req *sip.Request) fakeprovider.Reply {
	if req.Method != sip.REGISTER || req.GetHeader("Authorization") == nil || req.Contact() == nil {
		return fakeprovider.Reply{}
	}
	ev := regEvent{at: time.Now(), user: req.To().Address.User, expires: -1}
	ev.source, _, _ = net.SplitHostPort(req.Source())
	if v, ok := req.Contact().Params.Get("expires"); ok {
		ev.expires, _ = strconv.Atoi(v)
	} else if h := req.GetHeader("Expires"); h != nil {
		ev.expires, _ = strconv.Atoi(strings.TrimSpace(h.Value()))
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return fakeprovider.Reply{}
}

// since returns the events at or after t0, oldest first.
func (r *registrar) since(t0 time.Time) []regEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := sort.Search(len(r.events), func(i int) bool { return !r.events[i].at.Before(t0) })
	return append([]regEvent(nil), r.events[i:]...)
}

// bound returns, for every code, the contact addresses (host:port) of its
// live bindings at the registrar now.
func (r *registrar) bound(codes []string) map[string][]string {
	out := map[string][]string{}
	for _, c := range codes {
		for _, b := range r.fp.Bindings(c + "@127.0.0.1") {
			out[c] = append(out[c], contactAddr(b.Contact))
		}
	}
	return out
}

// contactAddr is host:port of a Contact URI such as sip:u@127.0.0.2:5070.
func contactAddr(contact string) string {
	var u sip.Uri
	if err := sip.ParseUri(strings.Trim(contact, "<>"), &u); err != nil {
		return contact
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
}

// clusterNode is one trunkd process of the cluster and its etcd proxies.
type clusterNode struct {
	name, ip string
	cfgPath  string
	dir      string          // the node's render output (uacreg) and fence log
	engine   *kamailioEngine // the node's Kamailio; nil: its prober registers
	proxies  []*etcdtest.Proxy
	mu       sync.Mutex     // guards proc for readers on other goroutines
	proc     *trunkdProcess // nil while stopped; written by the test's goroutine only
}

// running is the node's process, nil while stopped; for other goroutines.
func (n *clusterNode) running() *trunkdProcess {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// setProc sets the node's process.
func (n *clusterNode) setProc(p *trunkdProcess) {
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
}

// clusterEnv is the whole set-up.
type clusterEnv struct {
	t      *testing.T
	etcd   *etcdtest.Cluster
	bin    string
	rem    *gitRemote
	reg    *registrar
	codes  []string
	nodes  []*clusterNode
	tokens string // the tokens file: alice, bob, carol
}

// newClusterEnv starts etcd, the registrar and a remote with n trunks, and
// writes the config of nodes nodes (not started): each node registers its
// trunks through its prober in bind mode and renders a uacreg file with
// recording fence commands.
func newClusterEnv(t *testing.T, trunks, nodes int) *clusterEnv {
	t.Helper()
	e := newClusterBase(t, trunks)
	for i := range nodes {
		n := e.addNode(fmt.Sprintf("127.0.0.%d", i+2))
		n.writeConfig(t, e, proberNodeConfig(n))
	}
	return e
}

// twin makes a second process configured with n's cluster.node, with an
// address, etcd proxies and directories of its own; it is not one of
// e.nodes and stops when the test ends.
func (e *clusterEnv) twin(n *clusterNode) *clusterNode {
	tw := &clusterNode{name: n.name, ip: fmt.Sprintf("127.0.0.%d", len(e.nodes)+2), dir: e.t.TempDir()}
	for _, m := range e.etcd.Members {
		tw.proxies = append(tw.proxies, etcdtest.NewProxy(e.t, m.ClientURL))
	}
	tw.writeConfig(e.t, e, proberNodeConfig(tw))
	e.t.Cleanup(func() { tw.stop(e.t) })
	return tw
}

// proberNodeConfig is the probe and render part of node n's config: its
// prober registers its trunks in bind mode, and it renders a uacreg file
// with recording fence commands.
func proberNodeConfig(n *clusterNode) string {
	fence := filepath.Join(n.dir, "fence.log")
	return fmt.Sprintf(`probe:
  enabled: true
  listen: %s:0
  register_mode: bind
render:
  targets:
    - name: uacreg
      template: kamailio/uacreg
      output: %s
      fence_cmd: echo fence >> %s
      unfence_cmd: echo unfence >> %s
`, n.ip, filepath.Join(n.dir, "uacreg"), fence, fence)
}

// newClusterBase starts etcd, the registrar and the remote with n trunks.
func newClusterBase(t *testing.T, trunks int) *clusterEnv {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	e := &clusterEnv{t: t, etcd: etcdtest.Start(t, 3), rem: newGitRemote(t), bin: buildTrunkd(t)}
	for i := range trunks {
		e.codes = append(e.codes, fmt.Sprintf("t%03d", i))
	}
	e.reg = startRegistrar(t, e.codes)
	e.seedTrunks()
	e.tokens = writeTokens(t, "alice", "bob", "carol")
	t.Cleanup(func() {
		for _, n := range e.nodes {
			n.stop(t)
		}
	})
	return e
}

// addNode adds a node whose registrant sends from ip, with etcd proxies of
// its own.
func (e *clusterEnv) addNode(ip string) *clusterNode {
	n := &clusterNode{name: fmt.Sprintf("n%d", len(e.nodes)+1), ip: ip, dir: e.t.TempDir()}
	for _, m := range e.etcd.Members {
		n.proxies = append(n.proxies, etcdtest.NewProxy(e.t, m.ClientURL))
	}
	e.nodes = append(e.nodes, n)
	return n
}

// writeConfig writes the node's config: the API, git, the cluster through
// its proxies, and extra (probe and render).
func (n *clusterNode) writeConfig(t *testing.T, e *clusterEnv, extra string) {
	t.Helper()
	var eps []string
	for _, p := range n.proxies {
		eps = append(eps, "'"+p.URL()+"'")
	}
	n.cfgPath = filepath.Join(n.dir, n.name+".yaml")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
auth:
  tokens_file: %s
secrets:
  allow_plaintext: true
git:
  remote: %s
  path: providers
  workdir: %s
  poll: 5s
cluster:
  node: %s
  lease_ttl: %v
  etcd:
    endpoints: [%s]
`, e.tokens, e.rem.url, filepath.Join(n.dir, "wc"), n.name, clusterLeaseTTL, strings.Join(eps, ", ")) + extra
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// clusterLeaseTTL is the nodes' cluster.lease_ttl.
const clusterLeaseTTL = 3 * time.Second

// seedTrunks pushes one provider file per code, registering to the
// registrar every 60 s.
func (e *clusterEnv) seedTrunks() {
	host, port, _ := net.SplitHostPort(e.reg.fp.Addr())
	dir := filepath.Join(e.rem.human, "providers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for _, c := range e.codes {
		text := fmt.Sprintf("code: %s\ndomain: %s\nproxyaddr: %s\nproxyport: %s\ntransport: udp\nreg: 1\nusername: %s\npwd: pw-%s\nexpires: 60\npingmode: none\ntrunksout: 0\n",
			c, host, host, port, c, c)
		if err := os.WriteFile(filepath.Join(dir, c+".yaml"), []byte(text), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil { // the remote's seed
		e.t.Fatal(err)
	}
	humanGit(e.t, e.rem.human, "add", "--all")
	humanGit(e.t, e.rem.human, "commit", "--quiet", "-m", "trunks")
	humanGit(e.t, e.rem.human, "push", "--quiet", "origin", "HEAD:refs/heads/main")
}

// start starts node n's process and waits until it serves.
func (e *clusterEnv) start(n *clusterNode) {
	e.t.Helper()
	n.setProc(startClusterTrunkd(e.t, e.bin, n.cfgPath))
}

// startClusterTrunkd is startTrunkd with the process killed when the test
// process dies and its log printed when the test failed.
func startClusterTrunkd(t *testing.T, bin, cfgPath string) *trunkdProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return runTrunkd(t, cmd)
}

// kill9 kills node n with SIGKILL and waits until it is gone; its log
// is kept for a failure report.
func (n *clusterNode) kill9(t *testing.T) {
	t.Helper()
	if n.proc == nil {
		return
	}
	_ = n.proc.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.proc.cmd.Wait()
	if t.Failed() {
		t.Logf("node %s (killed) log:\n%s", n.name, n.proc.log.String())
	}
	n.setProc(nil)
}

// stop ends node n with SIGTERM (as systemd does) and prints its log when
// the test failed.
func (n *clusterNode) stop(t *testing.T) {
	if n.proc == nil {
		return
	}
	_ = n.proc.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = n.proc.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		t.Errorf("node %s did not stop within %v of SIGTERM", n.name, stopTimeout)
		_ = n.proc.cmd.Process.Kill()
		<-done
	}
	if t.Failed() {
		t.Logf("node %s log:\n%s", n.name, n.proc.log.String())
	}
	n.setProc(nil)
}

// gracefulStop stops node n with SIGTERM, a planned stop: n must leave the
// cluster first (its log says so), and each trunk it owned (before) must be
// registered by its new owner among live within the lease TTL + 2 s of the
// signal (issue 15's bound for a crash; a handover needs no expiry), the
// old owner's last REGISTER first. It returns the owners after the stop.
func (e *clusterEnv) gracefulStop(n *clusterNode, before map[string]string, live []*clusterNode) map[string]string {
	e.t.Helper()
	p := n.proc
	t0 := time.Now()
	n.stop(e.t)
	stopped := time.Since(t0)
	after := e.settled("after SIGTERM of "+n.name, live)
	if moved := e.handoverOrder(t0, before, after); moved != count(before, n.name) {
		e.t.Errorf("SIGTERM of %s: %d trunks moved, it owned %d", n.name, moved, count(before, n.name))
	}
	if !strings.Contains(p.log.String(), "left the cluster") {
		e.t.Errorf("SIGTERM of %s: its log does not say it left the cluster:\n%s", n.name, p.log.String())
	}
	ips := e.ipOf()
	var delays []time.Duration
	for c, o := range before {
		if o != n.name {
			continue
		}
		first := e.firstRegister(t0, c, ips[after[c]])
		if first.IsZero() {
			continue // handoverOrder reported it
		}
		delays = append(delays, first.Sub(t0))
		if bound := clusterLeaseTTL + 2*time.Second; first.Sub(t0) > bound {
			e.t.Errorf("SIGTERM of %s: trunk %s registered by %s %v after the signal, bound %v",
				n.name, c, after[c], first.Sub(t0).Round(time.Millisecond), bound)
		}
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	if len(delays) > 0 {
		e.t.Logf("SIGTERM of %s: exited after %v; its %d trunks registered elsewhere after p50 %v, max %v (lease TTL %v)",
			n.name, stopped.Round(time.Millisecond), len(delays), delays[len(delays)/2].Round(time.Millisecond),
			delays[len(delays)-1].Round(time.Millisecond), clusterLeaseTTL)
	}
	return after
}

// firstRegister is the time of the first registration (expires > 0) of
// trunk code from source since t0; zero for none.
func (e *clusterEnv) firstRegister(t0 time.Time, code, source string) time.Time {
	for _, ev := range e.reg.since(t0) {
		if ev.user == code && ev.source == source && ev.expires != 0 {
			return ev.at
		}
	}
	return time.Time{}
}

// cut sets every etcd proxy of node n to mode.
func (n *clusterNode) cut(m etcdtest.Mode) {
	for _, p := range n.proxies {
		p.Set(m)
	}
}

// nodeStatus is the part of /status the tests read.
type nodeStatus struct {
	Cluster struct {
		Node        string            `json:"node"`
		Fenced      bool              `json:"fenced"`
		FenceReason string            `json:"fence_reason"`
		Generation  uint64            `json:"generation"`
		Applied     uint64            `json:"applied"`
		Owners      map[string]string `json:"owners"`
		Nodes       []struct {
			Name string `json:"name"`
		} `json:"nodes"`
	} `json:"cluster"`
	Probe struct {
		Advertise string `json:"advertise"`
	} `json:"probe"`
}

// status reads node n's /status; ok is false when it does not answer.
func (n *clusterNode) status() (nodeStatus, bool) {
	var st nodeStatus
	if n.proc == nil {
		return st, false
	}
	res, err := http.Get(n.proc.base + "/status")
	if err != nil {
		return st, false
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&st) != nil {
		return st, false
	}
	return st, true
}

// ipOf maps node names to their prober's address.
func (e *clusterEnv) ipOf() map[string]string {
	m := map[string]string{}
	for _, n := range e.nodes {
		m[n.name] = n.ip
	}
	return m
}

// settled waits until every node of live is unfenced, sees exactly live
// as the live nodes, agrees with the others on one owner per trunk and has
// applied its ownership generation, and every trunk has exactly one binding
// from the running probers of live at the registrar, its owner's (a killed
// or fenced node's binding may linger until it expires: per-node Contacts,
// docs/cluster.md). It returns the owners (code → node).
func (e *clusterEnv) settled(what string, live []*clusterNode) map[string]string {
	e.t.Helper()
	return e.settle(what, live, func(owners, addrs map[string]string) string {
		return cmp.Or(e.boundByOwners(owners, addrs), e.renderedByOwners(owners, live))
	})
}

// settle waits until the nodes of live agree (agreement) and check, given
// the owners and the nodes' prober addresses, finds nothing amiss ("");
// it returns the owners.
func (e *clusterEnv) settle(what string, live []*clusterNode, check func(owners, addrs map[string]string) string) map[string]string {
	e.t.Helper()
	deadline := time.Now().Add(2 * waitTimeout)
	for {
		owners, addrs, why := e.agreement(live)
		if why == "" {
			why = check(owners, addrs)
		}
		if why == "" {
			return owners
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not settled within %v: %s", what, 2*waitTimeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// boundByOwners checks that each trunk has one binding from the probers of
// the live nodes (addrs: node → prober address), its owner's; "" when so.
func (e *clusterEnv) boundByOwners(owners, addrs map[string]string) string {
	live := map[string]bool{}
	for _, a := range addrs {
		live[a] = true
	}
	bound := e.reg.bound(e.codes)
	for _, c := range e.codes {
		var fromLive []string
		for _, b := range bound[c] {
			if live[b] {
				fromLive = append(fromLive, b)
			}
		}
		if len(fromLive) != 1 || fromLive[0] != addrs[owners[c]] {
			return fmt.Sprintf("trunk %s: bindings from %v (live probers %v), owner %s", c, bound[c], addrs, owners[c])
		}
	}
	return ""
}

// renderedByOwners checks that each node of live renders the uacreg rows
// (the registering part) of exactly the trunks it owns; "" when so.
func (e *clusterEnv) renderedByOwners(owners map[string]string, live []*clusterNode) string {
	for _, n := range live {
		rows := n.uacregCodes()
		for _, c := range e.codes {
			if rows[c] != (owners[c] == n.name) {
				return fmt.Sprintf("%s's uacreg: trunk %s has a row %v, owner %s", n.name, c, rows[c], owners[c])
			}
		}
	}
	return ""
}

// uacregCodes are the trunks with a row in the node's uacreg file.
func (n *clusterNode) uacregCodes() map[string]bool {
	path := filepath.Join(n.dir, "uacreg")
	if n.engine != nil {
		path = filepath.Join(n.dir, "db", "uacreg")
	}
	data, _ := os.ReadFile(path)
	out := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 {
			out[f[1]] = true
		}
	}
	return out
}

// fenceLog is what the node's fence and unfence commands wrote.
func (n *clusterNode) fenceLog() string {
	data, _ := os.ReadFile(filepath.Join(n.dir, "fence.log"))
	return string(data)
}

// agreement checks the views of the nodes of live; why is "" when they
// agree. addrs are their probers' addresses.
func (e *clusterEnv) agreement(live []*clusterNode) (owners, addrs map[string]string, why string) {
	addrs = map[string]string{}
	for _, n := range live {
		st, ok := n.status()
		switch {
		case !ok:
			return nil, nil, n.name + ": /status does not answer"
		case st.Cluster.Fenced:
			return nil, nil, n.name + " is fenced"
		case st.Cluster.Applied != st.Cluster.Generation:
			return nil, nil, fmt.Sprintf("%s applied generation %d of %d", n.name, st.Cluster.Applied, st.Cluster.Generation)
		case len(st.Cluster.Nodes) != len(live):
			return nil, nil, fmt.Sprintf("%s sees %d live nodes, want %d", n.name, len(st.Cluster.Nodes), len(live))
		case len(st.Cluster.Owners) != len(e.codes):
			return nil, nil, fmt.Sprintf("%s knows owners of %d of %d trunks", n.name, len(st.Cluster.Owners), len(e.codes))
		}
		addrs[n.name] = st.Probe.Advertise
		if owners == nil {
			owners = st.Cluster.Owners
			continue
		}
		for c, o := range owners {
			if st.Cluster.Owners[c] != o {
				return nil, nil, fmt.Sprintf("trunk %s: owner %s on one node, %s on %s", c, o, st.Cluster.Owners[c], n.name)
			}
		}
	}
	return owners, addrs, ""
}

// without is the nodes but n.
func (e *clusterEnv) without(n *clusterNode) []*clusterNode {
	var out []*clusterNode
	for _, o := range e.nodes {
		if o != n {
			out = append(out, o)
		}
	}
	return out
}

// busiest is the node owning the most trunks.
func (e *clusterEnv) busiest(owners map[string]string) *clusterNode {
	best := e.nodes[0]
	for _, n := range e.nodes {
		if count(owners, n.name) > count(owners, best.name) {
			best = n
		}
	}
	return best
}

// count is the number of trunks node owns.
func count(owners map[string]string, node string) int {
	n := 0
	for _, o := range owners {
		if o == node {
			n++
		}
	}
	return n
}

// id looks up the provider id of code on node n.
func (e *clusterEnv) id(t *testing.T, n *clusterNode, code string) string {
	t.Helper()
	status, _, body := call(t, methodLookup, n.proc.base+"/rest/v1/uc/providers", "alice", `"`+code+`"`)
	var ids []string
	if status != http.StatusOK || json.Unmarshal([]byte(body), &ids) != nil || len(ids) != 1 {
		t.Fatalf("LOOKUP %s on %s: %d %s", code, n.name, status, body)
	}
	return ids[0]
}

// methodLookup is the seed's search method.
const methodLookup = "LOOKUP"

// checkChanges: node n's /status lists, for every trunk it took over from
// the dead node, the change from that node and then the change to n.
func (e *clusterEnv) checkChanges(n *clusterNode, dead string, before, after map[string]string) {
	e.t.Helper()
	var st struct {
		Cluster struct {
			Changes []struct{ Code, From, To string } `json:"changes"`
		} `json:"cluster"`
	}
	_, body := get(e.t, n.proc.base+"/status")
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		e.t.Fatal(err)
	}
	// Newest first; a trunk whose owner's key expired shows as two
	// changes: dead → none, then none → n.
	from, to := map[string]bool{}, map[string]bool{}
	for _, c := range st.Cluster.Changes {
		if c.From == dead && !to[c.Code] {
			continue // an older change of the trunk
		}
		if c.To == n.name {
			to[c.Code] = true
		}
		if c.From == dead && to[c.Code] {
			from[c.Code] = true
		}
	}
	for code, o := range after {
		if before[code] == dead && o == n.name && !from[code] {
			e.t.Errorf("%s's /status lists no change of %s from %s to it: %+v", n.name, code, dead, st.Cluster.Changes)
		}
	}
}

// checkClusterMetrics: the series the alert rules use are exported by a
// cluster node (the make-run test leaves them to this one).
func (e *clusterEnv) checkClusterMetrics(n *clusterNode) {
	e.t.Helper()
	_, m := get(e.t, n.proc.base+"/metrics")
	for _, name := range []string{"trunkd_cluster_fenced", "trunkd_cluster_unowned_trunks"} {
		if !strings.Contains(m, "\n"+name+" ") {
			e.t.Errorf("%s does not export %s", n.name, name)
		}
	}
}

// handoverOrder checks, for every trunk that moved from one node to
// another since t0, that the old owner's last REGISTER came before the new
// owner's first; it returns the number of trunks checked.
func (e *clusterEnv) handoverOrder(t0 time.Time, before, after map[string]string) int {
	e.t.Helper()
	ips := e.ipOf()
	events := e.reg.since(t0)
	moved := 0
	for _, c := range e.codes {
		from, to := before[c], after[c]
		if from == to {
			continue
		}
		moved++
		var lastOld, firstNew time.Time
		for _, ev := range events {
			if ev.user != c {
				continue
			}
			if ev.source == ips[from] {
				lastOld = ev.at
			}
			if ev.source == ips[to] && firstNew.IsZero() {
				firstNew = ev.at
			}
		}
		if firstNew.IsZero() {
			e.t.Errorf("trunk %s moved %s → %s, but %s never registered it", c, from, to, to)
		} else if !lastOld.IsZero() && !lastOld.Before(firstNew) {
			e.t.Errorf("trunk %s moved %s → %s: the old owner's last REGISTER (%s) is not before the new owner's first (%s)",
				c, from, to, lastOld.Format("15:04:05.000"), firstNew.Format("15:04:05.000"))
		}
	}
	return moved
}
