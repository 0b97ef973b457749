package sipcheck

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// pingTrunkAt is a trunk without registration that pings per mode every 10 s.
func pingTrunkAt(code, addr, tr, mode string) (p registry.Provider) {
	p = trunkAt(code, addr, tr)
	p.Reg, p.PingMode, p.PingTimeout = 0, mode, 10
	return p
}

// pingTick advances the clock by one ping interval and waits for the ping.
func (h *harness) pingTick(id string) State {
	h.tb.Helper()
	h.clock.Advance(10 * time.Second)
	now := h.clock.Now()
	return h.waitState(id, "a ping at "+now.String(), func(s State) bool {
		return s.Ping.LastCheck != nil && s.Ping.LastCheck.Equal(now)
	})
}

func TestOptionsPing(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{})
	p := h.create(pingTrunkAt("peer", fp.Addr(), "udp", "options"))
	s := h.waitState(p.ID, "up", func(s State) bool { return s.Ping.State == Up })
	if s.Registration.State != RegOff || s.Ping.RTTSeconds == nil || *s.Ping.RTTSeconds <= 0 || *s.Ping.LastCode != 200 {
		t.Fatalf("state %+v", s)
	}
	if s.Reachable == nil || !*s.Reachable {
		t.Fatalf("reachable %v", s.Reachable)
	}
	if _, ok := h.gauge("trunkd_provider_registered", "code", "peer"); ok {
		t.Fatal("a reg 0 trunk must not export trunkd_provider_registered")
	}
	for name, want := range map[string]float64{"trunkd_provider_reachable": 1, "trunkd_provider_last_status_code": 200} {
		if v, ok := h.gauge(name, "code", "peer"); !ok || v != want {
			t.Fatalf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if v, ok := h.gauge("trunkd_provider_rtt_seconds", "code", "peer", "method", "OPTIONS"); !ok || v <= 0 {
		t.Fatalf("rtt %v %v", v, ok)
	}
	if next := s.Ping.NextCheck.Sub(*s.Ping.LastCheck); next < 9500*time.Millisecond || next > 10*time.Second+timerTick {
		t.Fatalf("next ping after %s, want 9.5-10 s", next)
	}
	if fp.Stats().Options != 1 {
		t.Fatalf("provider saw %d OPTIONS", fp.Stats().Options)
	}
}

func TestOptionsPingSrv(t *testing.T) {
	silent := startFake(t, fakeprovider.Config{Hook: func(*sip.Request) fakeprovider.Reply { return fakeprovider.Reply{Drop: true} }})
	pinged := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{})
	tr := pingTrunkAt("peer", silent.Addr(), "udp", "options")
	tr.PingSrv = pinged.Addr()
	p := h.create(tr)
	s := h.waitState(p.ID, "up", func(s State) bool { return s.Ping.State == Up })
	if s.Ping.Target != "udp:"+pinged.Addr() || pinged.Stats().Options != 1 {
		t.Fatalf("ping target %s, pingsrv saw %d", s.Ping.Target, pinged.Stats().Options)
	}
}

func TestAliveCodes(t *testing.T) {
	notFound := func(req *sip.Request) fakeprovider.Reply {
		return fakeprovider.Reply{Response: fakeprovider.Response(req, 404, "Not Found")}
	}
	for _, c := range []struct {
		alive string
		want  string
	}{{"", Up}, {"2xx", Down}, {"200-299,404", Up}, {"!404", Down}} {
		t.Run("alive_codes="+c.alive, func(t *testing.T) {
			fp := startFake(t, fakeprovider.Config{Hook: notFound})
			h := newHarness(t, Config{AliveCodes: c.alive, DownAfter: 1})
			p := h.create(pingTrunkAt("peer", fp.Addr(), "udp", "options"))
			s := h.waitState(p.ID, "a ping", func(s State) bool { return s.Ping.LastCheck != nil })
			if s.Ping.State != c.want || *s.Ping.LastCode != 404 {
				t.Fatalf("404 with alive_codes %q: %s, want %s", c.alive, s.Ping.State, c.want)
			}
		})
	}
}

func TestHysteresis(t *testing.T) {
	var failing atomic.Bool
	fp := startFake(t, fakeprovider.Config{Hook: func(req *sip.Request) fakeprovider.Reply {
		if failing.Load() {
			return fakeprovider.Reply{Response: fakeprovider.Response(req, 503, "Service Unavailable")}
		}
		return fakeprovider.Reply{}
	}})
	h := newHarness(t, Config{DownAfter: 3, UpAfter: 2})
	p := h.create(pingTrunkAt("peer", fp.Addr(), "udp", "options"))
	s := h.waitState(p.ID, "first ping", func(s State) bool { return s.Ping.LastCheck != nil })
	if s.Ping.State != Unknown || s.Reachable != nil {
		t.Fatalf("one success with up_after 2 must leave the state unknown: %+v", s.Ping)
	}
	if _, ok := h.gauge("trunkd_provider_reachable", "code", "peer"); ok {
		t.Fatal("unknown reachability must have no series")
	}
	if s = h.pingTick(p.ID); s.Ping.State != Up {
		t.Fatalf("after 2 successes: %s", s.Ping.State)
	}
	failing.Store(true)
	for i := 1; i <= 2; i++ {
		if s = h.pingTick(p.ID); s.Ping.State != Up || s.Ping.ConsecutiveFailures != i {
			t.Fatalf("after %d failures: %s (%d)", i, s.Ping.State, s.Ping.ConsecutiveFailures)
		}
	}
	if v, _ := h.gauge("trunkd_provider_reachable", "code", "peer"); v != 1 {
		t.Fatal("reachable dropped before down_after failures")
	}
	if s = h.pingTick(p.ID); s.Ping.State != Down || *s.Reachable {
		t.Fatalf("after 3 failures: %s", s.Ping.State)
	}
	if v, _ := h.gauge("trunkd_provider_reachable", "code", "peer"); v != 0 {
		t.Fatal("reachable gauge still 1 after down_after failures")
	}
	failing.Store(false)
	if s = h.pingTick(p.ID); s.Ping.State != Down {
		t.Fatalf("one success with up_after 2: %s", s.Ping.State)
	}
	if s = h.pingTick(p.ID); s.Ping.State != Up {
		t.Fatalf("two successes: %s", s.Ping.State)
	}
}

func TestCRLFPongTCP(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{})
	p := h.create(pingTrunkAt("peer", fp.Addr(), "tcp", "rn"))
	s := h.waitState(p.ID, "up", func(s State) bool { return s.Ping.State == Up })
	if s.Ping.RTTSeconds == nil || *s.Ping.RTTSeconds <= 0 || s.Ping.LastCode != nil {
		t.Fatalf("ping %+v", s.Ping)
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "CRLF", "result", "pong"); v != 1 {
		t.Fatalf("pongs counted %v", v)
	}
	if v, ok := h.gauge("trunkd_provider_rtt_seconds", "code", "peer", "method", "CRLF"); !ok || v <= 0 {
		t.Fatalf("rtt %v %v", v, ok)
	}
	for i := 0; i < 3; i++ {
		if s = h.pingTick(p.ID); s.Ping.State != Up || s.Ping.ConsecutiveSuccesses != i+2 {
			t.Fatalf("ping %d: %+v", i+2, s.Ping)
		}
	}
}

func TestCRLFSilentTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // read and never answer
				defer c.Close()
				buf := make([]byte, 64)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	h := newHarness(t, Config{DownAfter: 2, Timeout: 150 * time.Millisecond})
	p := h.create(pingTrunkAt("peer", ln.Addr().String(), "tcp", "rn"))
	s := h.waitState(p.ID, "first ping", func(s State) bool { return s.Ping.LastCheck != nil })
	if s.Ping.State != Unknown || s.Ping.ConsecutiveFailures != 1 {
		t.Fatalf("ping %+v", s.Ping)
	}
	if s = h.pingTick(p.ID); s.Ping.State != Down {
		t.Fatalf("ping %+v", s.Ping)
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "CRLF", "result", "timeout"); v != 2 {
		t.Fatalf("timeouts counted %v", v)
	}
}

func TestCRLFOverUDPIsNotMeasured(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	h := newHarness(t, Config{})
	p := h.create(pingTrunkAt("peer", pc.LocalAddr().String(), "udp", "rn"))
	buf := make([]byte, 64)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "\r\n\r\n" {
		t.Fatalf("read %q, %v; want a double CRLF", buf[:n], err)
	}
	s := h.waitState(p.ID, "ping recorded", func(s State) bool { return s.Ping.LastCheck != nil })
	if s.Ping.State != Unknown || s.Reachable != nil {
		t.Fatalf("CRLF over UDP must leave reachability unknown: %+v", s.Ping)
	}
	if _, ok := h.gauge("trunkd_provider_reachable", "code", "peer"); ok {
		t.Fatal("unknown reachability must have no series")
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "CRLF", "result", "sent"); v != 1 {
		t.Fatalf("sent counted %v", v)
	}
}

// coalescingPeer is a TCP registrar that holds the answer to a REGISTER
// until a CRLF ping arrives (or the pong until a REGISTER arrives) and then
// writes the 200 and the pong in one write, as Kamailio did when its pong
// came 9 ms after the ping, between two answers.
func coalescingPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveCoalescing(c)
		}
	}()
	return ln.Addr().String()
}

func serveCoalescing(c net.Conn) {
	defer c.Close()
	var buf []byte
	var answer string
	pong := false
	chunk := make([]byte, 4096)
	for {
		n, err := c.Read(chunk)
		if err != nil {
			return
		}
		buf = append(buf, chunk[:n]...)
		for {
			if strings.HasPrefix(string(buf), "\r\n\r\n") {
				buf, pong = buf[4:], true
				continue
			}
			head, rest, ok := strings.Cut(string(buf), "\r\n\r\n")
			if !ok {
				break
			}
			buf = []byte(rest)
			answer += okAnswer(head)
		}
		if pong && answer != "" {
			if _, err := c.Write([]byte(answer + "\r\n")); err != nil {
				return
			}
			pong, answer = false, ""
		}
	}
}

// okAnswer is a 200 to the request whose header block is head.
func okAnswer(head string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(name) {
		case "via", "from", "call-id", "cseq":
			b.WriteString(l + "\r\n")
		case "to":
			b.WriteString(l + ";tag=peer\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// TestCRLFPongInSameReadAsAnswer: a pong that arrives in one read with a
// SIP answer still counts (issue 11: 30 rn/TCP trunks against Kamailio all
// timed out).
func TestCRLFPongInSameReadAsAnswer(t *testing.T) {
	addr := coalescingPeer(t)
	h := newHarness(t, Config{Timeout: 5 * time.Second, MaxNewPerSecond: 1000})
	tr := pingTrunkAt("peer", addr, "tcp", "rn")
	tr.Reg = 1
	p := h.create(tr)
	h.clock.Advance(time.Second) // the ping's start slot
	s := h.waitState(p.ID, "a ping and a registration", func(s State) bool {
		return s.Ping.LastCheck != nil && s.Registration.LastCheck != nil
	})
	if s.Ping.State != Up || s.Registration.State != RegRegistered {
		t.Fatalf("ping %+v registration %+v", s.Ping, s.Registration)
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "CRLF", "result", "pong"); v != 1 {
		t.Fatalf("pongs counted %v", v)
	}
}
