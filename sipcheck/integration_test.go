package sipcheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// requireTool finds an external program: missing is fatal in CI, a skip elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			pkg := map[string]string{"sipp": "sip-tester", "promtool": "prometheus"}[name]
			if pkg == "" {
				pkg = name
			}
			t.Fatalf("%s is required in CI (Debian: apt-get install %s): %v", name, pkg, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// freeUDPPort picks a UDP port that is free now on loopback.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sipp is a SIPp registrar process.
type sipp struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startSIPp runs testdata/sipp_registrar.xml on 127.0.0.1:port from lab
// (users.csv there) and waits until it answers OPTIONS.
func startSIPp(t *testing.T, bin, lab string, port, run int) *sipp {
	t.Helper()
	out, err := os.Create(filepath.Join(lab, fmt.Sprintf("sipp-%d.out", run)))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "-sf", "registrar.xml", "-inf", "users.csv", "-infindex", "users.csv", "0",
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1", "-cp", strconv.Itoa(freeUDPPort(t)), "-nostdin",
		"-trace_logs", "-log_file", fmt.Sprintf("actions-%d.log", run),
		"-trace_err", "-error_file", fmt.Sprintf("errors-%d.log", run))
	cmd.Dir, cmd.Stdout, cmd.Stderr = lab, out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	s := &sipp{cmd: cmd, done: make(chan struct{})}
	go func() { defer close(s.done); _ = cmd.Wait() }()
	t.Cleanup(s.kill)
	deadline := time.Now().Add(10 * time.Second)
	for !sippAnswers(port) {
		select {
		case <-s.done:
			log, _ := os.ReadFile(out.Name())
			t.Fatalf("sipp exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("sipp does not answer OPTIONS")
		}
	}
	return s
}

// kill ends SIPp at once (SIGKILL: a provider that vanishes).
func (s *sipp) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// sippAnswers sends one OPTIONS from a raw socket and waits briefly for a 200.
func sippAnswers(port int) bool {
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	defer c.Close()
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	msg := "OPTIONS sip:127.0.0.1:" + strconv.Itoa(port) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK-ready-" + id + "\r\n" +
		"From: <sip:ready@127.0.0.1>;tag=" + id + "\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ready-" + id + "\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200"))
}

// scrape fetches a /metrics text.
func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitMetric(t *testing.T, url, line string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, line+" in /metrics", timeout, func() bool {
		return strings.Contains(scrape(t, url), "\n"+line+"\n")
	})
	return time.Since(start)
}

// serveProber runs a prober with a real clock on reg and serves its metrics.
func serveProber(t *testing.T, reg *registry.Registry, prom *prometheus.Registry, cfg Config) (*Prober, string) {
	t.Helper()
	pr, err := New(cfg, Options{ServerIndex: registry.AnyServer, Logger: testLogger(t), Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	sub := reg.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = pr.Run(ctx, sub.C()) }()
	srv := httptest.NewServer(promhttp.HandlerFor(prom, promhttp.HandlerOpts{}))
	t.Cleanup(func() { srv.Close(); cancel(); <-done; sub.Close() })
	return pr, srv.URL + "/metrics"
}

func TestIntegrationSIPpRegistrar(t *testing.T) {
	bin := requireTool(t, "sipp")
	lab := t.TempDir()
	scenario, err := os.ReadFile("testdata/sipp_registrar.xml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"registrar.xml": string(scenario),
		"users.csv": "SEQUENTIAL\nalice;secret1\nbob;secret2\n"} {
		if err := os.WriteFile(filepath.Join(lab, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := freeUDPPort(t)
	s := startSIPp(t, bin, lab, port, 1)

	dir := t.TempDir()
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct{ code, user, pwd string }{{"sipp-ok", "alice", "secret1"}, {"sipp-bad", "bob", "wrong"}} {
		p := trunkAt(tr.code, "127.0.0.1:"+strconv.Itoa(port), "udp")
		p.Username, p.Login, p.Pwd, p.Domain = tr.user, tr.user, tr.pwd, "sipp.test"
		p.PingMode, p.PingTimeout = "options", 2
		if _, err := reg.Create(p); err != nil {
			t.Fatal(err)
		}
	}
	const downAfter, pingTimeout = 3, 2 * time.Second
	// Down takes at most down_after pings plus one timeout after the last
	// answer: 3 x 2 s + 0.5 s, inside the 3 x 2 s + 2 s the issue allows.
	_, url := serveProber(t, reg, prometheus.NewRegistry(), Config{DownAfter: downAfter, Timeout: 500 * time.Millisecond})

	waitMetric(t, url, `trunkd_provider_registered{code="sipp-ok"} 1`, 10*time.Second)
	waitMetric(t, url, `trunkd_provider_registered{code="sipp-bad"} 0`, 10*time.Second)
	waitMetric(t, url, `trunkd_provider_last_status_code{code="sipp-bad",method="REGISTER"} 403`, 10*time.Second)
	waitMetric(t, url, `trunkd_provider_reachable{code="sipp-ok"} 1`, 10*time.Second)
	actions, _ := os.ReadFile(filepath.Join(lab, "actions-1.log"))
	if !strings.Contains(string(actions), "user=alice valid=true") || !strings.Contains(string(actions), "user=bob valid=false") {
		t.Fatalf("SIPp did not verify the digests as expected:\n%s", actions)
	}

	s.kill()
	limit := downAfter*pingTimeout + 2*time.Second
	took := waitMetric(t, url, `trunkd_provider_reachable{code="sipp-ok"} 0`, limit+5*time.Second)
	t.Logf("reachable fell to 0 %s after SIPp was killed (limit %s)", took.Round(time.Millisecond), limit)
	if took > limit {
		t.Fatalf("reachable fell to 0 after %s, want within down_after x pingtimeout + 2 s = %s", took, limit)
	}

	startSIPp(t, bin, lab, port, 2)
	took = waitMetric(t, url, `trunkd_provider_reachable{code="sipp-ok"} 1`, 2*pingTimeout+5*time.Second)
	t.Logf("reachable back to 1 %s after SIPp restarted", took.Round(time.Millisecond))
}

func TestPromtoolCheckMetrics1000Trunks(t *testing.T) {
	promtool := requireTool(t, "promtool")
	fp := startFake(t, fakeprovider.Config{})
	_, port, _ := net.SplitHostPort(fp.Addr())
	dir := t.TempDir()
	prom := prometheus.NewRegistry()
	prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for i := 0; i < 1000; i++ {
		// A quarter registers (query mode); pings mix options, rn and none
		// over UDP and TCP.
		code, reg := fmt.Sprintf("trunk-%04d", i), 0
		if i%4 == 0 {
			reg = 1
		}
		data := fmt.Sprintf("code: %s\nreg: %d\nusername: alice\npwd: alice-secret\ndomain: demo.trunkd.test\n"+
			"proxyaddr: 127.0.0.1\nproxyport: %s\ntransport: %s\nexpires: 600\npingmode: %s\npingtimeout: 30\n",
			code, reg, port, []string{"udp", "tcp"}[i%2], []string{"options", "rn", "none"}[i%3])
		if err := os.WriteFile(filepath.Join(dir, code+".yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: testLogger(t), Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.Snapshot().Len(); n != 1000 {
		t.Fatalf("loaded %d trunks", n)
	}
	// A 1000-trunk burst on a loaded machine can overflow a UDP socket
	// buffer: a long timeout lets the transactions retransmit instead of
	// failing (the test is about the metrics, not about speed).
	pr, url := serveProber(t, reg, prom, Config{MaxNewPerSecond: 2000, Timeout: 20 * time.Second})
	start := time.Now()
	waitFor(t, "the first checks of 1000 trunks", 60*time.Second, func() bool {
		st := pr.Summary()
		return st.Trunks == 1000 && st.Pending == 0
	})
	t.Logf("first checks of 1000 trunks done in %s", time.Since(start).Round(time.Millisecond))
	if st := pr.Summary(); st.Registration[RegRegistered] != 250 || st.Registration[RegOff] != 750 {
		for _, p := range reg.Snapshot().Providers() {
			if s, ok := pr.State(p.ID); ok && s.Registration.State == RegFailing {
				t.Logf("%s over %s: %s", p.Code, p.Transport, s.Registration.LastReason)
			}
		}
		t.Fatalf("status %+v", st)
	}
	text := scrape(t, url)
	for _, want := range []string{`trunkd_provider_registered{code="trunk-0996"} 1`, `trunkd_provider_reachable{code="trunk-0999"} 1`,
		`trunkd_sip_rtt_seconds_bucket{method="REGISTER",le="0.001"}`} {
		if !strings.Contains(text, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	t.Logf("promtool check metrics passed on %d lines (%d bytes)", strings.Count(text, "\n"), len(text))
}
