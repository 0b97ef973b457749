package sipcheck

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// kamailioPassword is the password of every user of the test registrar.
const kamailioPassword = "kam-secret"

// freeSIPPort picks a port free now for both UDP and TCP on loopback.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// startKamailio runs testdata/kamailio/registrar.cfg (digest with
// algorithm, "" for MD5) on a free loopback port until the test ends and
// returns its address. The log is printed when the test fails.
func startKamailio(t *testing.T, algorithm string) string {
	t.Helper()
	bin := requireTool(t, "kamailio")
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgText, err := os.ReadFile(filepath.Join("testdata", "kamailio", "registrar.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freeSIPPort(t))
	cfgText = []byte(strings.NewReplacer("@LISTEN@", addr, "@ALGORITHM@", algorithm,
		"@PASSWORD@", kamailioPassword).Replace(string(cfgText)))
	cfgPath := filepath.Join(dir, "registrar.cfg")
	if err := os.WriteFile(cfgPath, cfgText, 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "kamailio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-f", cfgPath, "-P", filepath.Join(run, "kamailio.pid"), "-Y", run, "-w", run, "-E", "-DD")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("kamailio log:\n%s", tail(string(log), 4000))
		}
	})
	port, _ := strconv.Atoi(strings.TrimPrefix(addr, "127.0.0.1:"))
	deadline := time.Now().Add(20 * time.Second)
	for !sippAnswers(port) {
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("kamailio exited:\n%s", tail(string(log), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("kamailio does not answer OPTIONS")
		}
	}
	return addr
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestKamailioCRLFPongsBetweenAnswers: 30 rn/TCP trunks with reg 1 share
// one connection to a Kamailio registrar; its pongs come between the 401s
// and 200s and must all be seen (issue 11: every ping timed out).
func TestKamailioCRLFPongsBetweenAnswers(t *testing.T) {
	addr := startKamailio(t, "")
	h := newHarness(t, Config{Timeout: 3 * time.Second, MaxNewPerSecond: 1000})
	var ids []string
	for i := range 30 {
		tr := pingTrunkAt(fmt.Sprintf("kam%02d", i), addr, "tcp", "rn")
		tr.Reg, tr.Username, tr.Login, tr.Pwd = 1, fmt.Sprintf("user%02d", i), fmt.Sprintf("user%02d", i), kamailioPassword
		ids = append(ids, h.create(tr).ID)
	}
	h.clock.Advance(time.Second) // every start slot
	for _, id := range ids {
		s := h.waitState(id, "a ping and a registration of "+id, func(s State) bool {
			return s.Ping.LastCheck != nil && s.Registration.LastCheck != nil
		})
		if s.Ping.State != Up || s.Registration.State != RegRegistered {
			t.Errorf("%s: ping %s (%s), registration %s (%s)", s.Code, s.Ping.State, s.Ping.LastReason,
				s.Registration.State, s.Registration.LastReason)
		}
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "CRLF", "result", "timeout"); v != 0 {
		t.Fatalf("%v CRLF timeouts against a healthy Kamailio", v)
	}
}

// TestKamailioEngineBindingSignal: against a registrar that offers only
// SHA-256 digest, the prober's query succeeds (sipgo answers SHA-256)
// while Kamailio 5.6's uac, which answers only MD5, could not register;
// engine_binding = missing and trunkd_provider_engine_bindings = 0 say so.
// Against an MD5 registrar where another client (standing in for the
// engine: a bind-mode prober) holds a binding, it says present.
func TestKamailioEngineBindingSignal(t *testing.T) {
	account := func(p *registry.Provider) {
		p.Username, p.Login, p.Pwd = "user01", "user01", kamailioPassword
	}
	t.Run("SHA-256 only", func(t *testing.T) {
		addr := startKamailio(t, "SHA-256")
		h := newHarness(t, Config{Timeout: 3 * time.Second})
		tr := trunkAt("sha", addr, "udp")
		account(&tr)
		p := h.create(tr)
		s := h.waitState(p.ID, "a registration check", func(s State) bool { return s.Registration.LastCheck != nil })
		if s.Registration.State != RegRegistered || s.Registration.EngineBinding != BindingMissing {
			t.Fatalf("registration %s (%s), engine_binding %q; want registered and missing",
				s.Registration.State, s.Registration.LastReason, s.Registration.EngineBinding)
		}
		if v, ok := h.gauge("trunkd_provider_engine_bindings", "code", "sha"); !ok || v != 0 {
			t.Fatalf("trunkd_provider_engine_bindings = %v (present %v), want 0", v, ok)
		}
		var out bytes.Buffer
		if _, err := CheckOnce(context.Background(), Config{Timeout: 3 * time.Second}, &tr, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "algorithm=SHA-256") || strings.Contains(out.String(), "algorithm=MD5") {
			t.Fatalf("the registrar should challenge with SHA-256 only:\n%s", out.String())
		}
	})
	t.Run("MD5 with a binding", func(t *testing.T) {
		addr := startKamailio(t, "")
		engine := newHarness(t, Config{Timeout: 3 * time.Second, RegisterMode: ModeBind})
		tr := trunkAt("engine", addr, "udp")
		account(&tr)
		e := engine.create(tr)
		engine.waitState(e.ID, "the stand-in engine registered", registered)
		h := newHarness(t, Config{Timeout: 3 * time.Second})
		tr.Code = "query"
		p := h.create(tr)
		s := h.waitState(p.ID, "a registration check", func(s State) bool { return s.Registration.LastCheck != nil })
		if s.Registration.State != RegRegistered || s.Registration.EngineBinding != BindingPresent || len(s.Registration.Bindings) != 1 {
			t.Fatalf("registration %s, engine_binding %q, bindings %+v; want registered, present, 1",
				s.Registration.State, s.Registration.EngineBinding, s.Registration.Bindings)
		}
		if v, _ := h.gauge("trunkd_provider_engine_bindings", "code", "query"); v != 1 {
			t.Fatalf("trunkd_provider_engine_bindings = %v, want 1", v)
		}
	})
}
