package main

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestClusterKamailio is the cluster's end-to-end test with the engine
// as registrant: each of three nodes runs a real Kamailio (on its own
// loopback address) that registers the trunks of the uacreg table its
// trunkd renders, with the kamailio preset's per-trunk actions and fence
// (uac.reg_active 0). Steady state: every trunk registered by exactly one
// Kamailio, its owner's. kill -9 of a node's trunkd and Kamailio: the
// others' Kamailios take its trunks. The node restarts: its share moves
// back, old owner first. A node cut off from etcd fences its Kamailio and
// the others take over in the same order.
func TestClusterKamailio(t *testing.T) {
	kamailio, kamcmd := needProgram(t, "kamailio"), needProgram(t, "kamcmd")
	e := newClusterBase(t, 6)
	for i := range 3 {
		n := e.addNode("127.0.0.1" + strconv.Itoa(2+i))
		n.engine = &kamailioEngine{bin: kamailio, kamcmd: kamcmd, ip: n.ip, dir: n.dir}
		n.engine.prepare(t)
		n.writeConfig(t, e, n.engine.targets())
	}
	for _, n := range e.nodes {
		n.engine.start(t)
		e.start(n)
	}
	owners := e.settledEngines("three nodes started", e.nodes)
	for c, bs := range e.reg.bound(e.codes) {
		if len(bs) != 1 {
			t.Errorf("steady state: trunk %s bound from %v, want exactly one Kamailio", c, bs)
		}
	}

	victim := e.busiest(owners)
	t0 := time.Now()
	victim.kill9(t)
	victim.engine.kill9()
	after := e.settledEngines("after kill -9 of "+victim.name+" and its Kamailio", e.without(victim))
	if n := e.handoverOrder(t0, owners, after); n == 0 {
		t.Errorf("no trunk moved after kill -9 of %s", victim.name)
	}
	t.Logf("kill -9 of %s and its Kamailio: its trunks registered by other Kamailios after %v", victim.name, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	victim.engine.start(t) // a new port: its old bindings expire by themselves
	e.start(victim)
	back := e.settledEngines(victim.name+" back", e.nodes)
	t.Logf("%s back: %d trunks moved back in %v", victim.name, e.handoverOrder(t0, after, back), time.Since(t0).Round(time.Millisecond))

	cut := e.busiest(back)
	t0 = time.Now()
	fences := strings.Count(cut.proc.log.String(), "render fence action ran")
	cut.cut(etcdtest.Blackhole)
	waitUntil(t, cut.name+" fenced its Kamailio (uac.reg_active 0) and dropped its uacreg rows", func() bool {
		code, _ := get(t, cut.proc.base+"/readyz")
		return code == http.StatusServiceUnavailable && len(cut.uacregCodes()) == 0 &&
			strings.Count(cut.proc.log.String(), "render fence action ran") > fences
	})
	split := e.settledEngines(cut.name+" cut off", e.without(cut))
	if n := e.handoverOrder(t0, back, split); n == 0 {
		t.Errorf("no trunk moved away from the cut-off node %s", cut.name)
	}
	t.Logf("%s cut off: its trunks registered by other Kamailios after %v", cut.name, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	cut.cut(etcdtest.Forward)
	healed := e.settledEngines(cut.name+" reconnected", e.nodes)
	e.handoverOrder(t0, split, healed)
}

// settledEngines is settled with the nodes' Kamailios as registrants:
// the views agree and are applied, each node's uacreg holds the rows of
// exactly its trunks, and each trunk has one binding from the live
// Kamailios, its owner's.
func (e *clusterEnv) settledEngines(what string, live []*clusterNode) map[string]string {
	e.t.Helper()
	return e.settle(what, live, func(owners, _ map[string]string) string {
		addrs := map[string]string{}
		for _, n := range live {
			addrs[n.name] = n.engine.addr
		}
		return cmp.Or(e.renderedByOwners(owners, live), e.boundByOwners(owners, addrs))
	})
}

// kamailioEngine is one node's Kamailio.
type kamailioEngine struct {
	bin, kamcmd, ip, dir string
	addr                 string // ip:port of the running process
	cmd                  *exec.Cmd
	done                 chan struct{}
}

// prepare writes the db_text tables Kamailio starts with: the version
// table and an empty uacreg (trunkd renders both once it owns trunks).
func (k *kamailioEngine) prepare(t *testing.T) {
	t.Helper()
	db := filepath.Join(k.dir, "db")
	files := map[string]string{
		"version": "id(int,auto) table_name(string) table_version(int) \n1:version:1\n2:uacreg:5\n",
		"uacreg":  "id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) r_domain(string) realm(string) auth_username(string) auth_password(string) auth_ha1(string) auth_proxy(string) expires(int) flags(int) reg_delay(int) contact_addr(string) socket(string) \n",
	}
	if err := os.MkdirAll(db, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(db, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sock is the path of Kamailio's binrpc socket.
func (k *kamailioEngine) sock() string { return filepath.Join(k.dir, "kam.sock") }

// targets is the render section of the node: Kamailio's version and
// uacreg tables with the kamailio preset (per-trunk actions, fence).
func (k *kamailioEngine) targets() string {
	db := filepath.Join(k.dir, "db")
	return `probe:
  enabled: false
render:
  targets:
    - name: version
      template: kamailio/version
      output: ` + filepath.Join(db, "version") + `
    - name: uacreg
      template: kamailio/uacreg
      output: ` + filepath.Join(db, "uacreg") + `
      engine: kamailio
      trunk_actions_max_share: 1
      reload_cmd: ` + k.kamcmd + ` -s unix:` + k.sock() + ` uac.reg_reload
      vars:
        kamcmd: ` + k.kamcmd + `
        kamcmd_socket: unix:` + k.sock() + `
`
}

// start runs Kamailio on a free UDP port of its address and waits for its
// RPC socket; it is killed when the test ends.
func (k *kamailioEngine) start(t *testing.T) {
	t.Helper()
	pc, err := net.ListenPacket("udp", k.ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = pc.LocalAddr().String()
	pc.Close()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "cluster-kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("@ADDR@", k.addr, "@CTLSOCK@", k.sock(), "@DBDIR@", filepath.Join(k.dir, "db")).Replace(string(tmpl))
	cfgPath := filepath.Join(k.dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(k.dir, "run")
	_ = os.MkdirAll(run, 0o755)
	logPath := filepath.Join(k.dir, "kamailio.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	k.cmd = exec.Command(k.bin, "-f", cfgPath, "-P", filepath.Join(run, "kamailio.pid"), "-Y", run, "-w", run, "-E", "-DD")
	k.cmd.Stdout, k.cmd.Stderr = out, out
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	k.done = done
	go func() { _ = k.cmd.Wait(); out.Close(); close(done) }()
	t.Cleanup(func() {
		k.kill9()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("kamailio %s log:\n%s", k.addr, data)
		}
	})
	waitUntil(t, "Kamailio's RPC socket at "+k.addr, func() bool {
		_, err := k.rpc("core.uptime")
		return err == nil
	})
}

// kill9 kills Kamailio's process group and waits until it is gone.
func (k *kamailioEngine) kill9() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	<-k.done
}

// rpc runs one kamcmd command on Kamailio's socket.
func (k *kamailioEngine) rpc(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, k.kamcmd, append([]string{"-s", "unix:" + k.sock()}, args...)...).CombinedOutput()
	return string(out), err
}

// needProgram finds a program on PATH or in the sbin directories; without
// it the test fails under CI and is skipped elsewhere.
func needProgram(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required (apt-get install kamailio)", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

// fileExists tells whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
