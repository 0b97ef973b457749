package fakeprovider

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestLoadUsers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	users, err := LoadUsers(write("ok.yaml", "users:\n  - {username: alice, password: a}\n  - {username: bob, password: b}\n"))
	if err != nil || len(users) != 2 || users[1] != (User{"bob", "b"}) {
		t.Fatalf("LoadUsers = %v, %v", users, err)
	}
	for name, text := range map[string]string{
		"unknown.yaml": "users:\n  - {username: alice, pasword: a}\n",
		"dup.yaml":     "users:\n  - {username: alice}\n  - {username: alice}\n",
		"empty.yaml":   "users:\n  - {password: a}\n",
	} {
		if _, err := LoadUsers(write(name, text)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := LoadUsers(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: want an error")
	}
}

// clock is a settable time for binding expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// client sends REGISTERs to a provider over UDP, one Call-ID, rising CSeq.
type client struct {
	t      *testing.T
	c      *sipgo.Client
	addr   string
	callID string
	cseq   uint32
}

func start(t *testing.T, cfg Config) (*Provider, *client) {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = []User{{Username: "alice", Password: "alice-secret"}}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Serve(ctx) }()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close(); cancel(); <-done })
	return p, &client{t: t, c: c, addr: p.Addr(), callID: "test-call", cseq: 1}
}

// register sends one REGISTER (contact "" = none, expires < 0 = no header)
// and answers a challenge with password pwd when pwd is set.
func (c *client) register(contact string, expires int, pwd string) *sip.Response {
	c.t.Helper()
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "demo.test"})
	aor := sip.Uri{Scheme: "sip", User: "alice", Host: "demo.test"}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", "t1")
	cid := sip.CallIDHeader(c.callID)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: c.cseq, MethodName: sip.REGISTER})
	c.cseq++
	if contact != "" {
		req.AppendHeader(sip.NewHeader("Contact", contact))
	}
	if expires >= 0 {
		e := sip.ExpiresHeader(expires)
		req.AppendHeader(&e)
	}
	req.SetTransport("UDP")
	req.SetDestination(c.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := c.c.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && pwd != "" {
		res, err = c.c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "alice", Password: pwd})
		c.cseq = req.CSeq().SeqNo + 1
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

func contacts(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}

func TestRegistrar(t *testing.T) {
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, c := start(t, Config{Realm: "demo.test", MinExpires: 60, Now: clk.Now})
	res := c.register("", -1, "")
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), `realm="demo.test"`) {
		t.Fatalf("unauthenticated REGISTER: %d", res.StatusCode)
	}
	if res = c.register("<sip:alice@10.0.0.1:5060>", 300, "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("bind: %d %s", res.StatusCode, res.Reason)
	}
	if got := contacts(res); len(got) != 1 || got[0] != "<sip:alice@10.0.0.1:5060>;expires=300" {
		t.Fatalf("bind answer lists %v", got)
	}
	clk.add(100 * time.Second)
	res = c.register("", -1, "alice-secret") // a query lists what is left
	if got := contacts(res); res.StatusCode != 200 || len(got) != 1 || got[0] != "<sip:alice@10.0.0.1:5060>;expires=200" {
		t.Fatalf("query: %d %v", res.StatusCode, got)
	}
	if res = c.register("<sip:alice@10.0.0.2:5060>", 30, "alice-secret"); res.StatusCode != 423 ||
		res.GetHeader("Min-Expires").Value() != "60" {
		t.Fatalf("too brief: %d", res.StatusCode)
	}
	if res = c.register("<sip:alice@10.0.0.1:5060>", 0, "alice-secret"); res.StatusCode != 200 || len(contacts(res)) != 0 {
		t.Fatalf("remove: %d %v", res.StatusCode, contacts(res))
	}
	if bs := p.Bindings("alice@demo.test"); len(bs) != 0 {
		t.Fatalf("bindings left %v", bs)
	}
	if st := p.Stats(); st.Registered != 3 || st.Registers != 9 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRegistrarExpiryAndOrder(t *testing.T) {
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, c := start(t, Config{Now: clk.Now})
	c.register("<sip:alice@10.0.0.1>", 60, "alice-secret")
	clk.add(61 * time.Second)
	if bs := p.Bindings("alice@demo.test"); len(bs) != 0 {
		t.Fatalf("an expired binding is listed: %v", bs)
	}
	c.register("<sip:alice@10.0.0.1>", 60, "alice-secret")
	c.cseq -= 5 // a REGISTER older than the binding's
	if res := c.register("<sip:alice@10.0.0.1>", 60, "alice-secret"); res.StatusCode != 500 {
		t.Fatalf("out-of-order CSeq: %d", res.StatusCode)
	}
}

func TestRegistrarCredentials(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"rechallenge", Config{}, 401},
		{"forbid", Config{ForbidBadCredentials: true}, 403},
		{"proxy", Config{ProxyAuth: true}, 407},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, cl := start(t, c.cfg)
			if res := cl.register("", -1, "wrong"); res.StatusCode != c.want {
				t.Fatalf("wrong password: %d, want %d", res.StatusCode, c.want)
			}
			if res := cl.register("", -1, "alice-secret"); res.StatusCode != 200 {
				t.Fatalf("right password: %d", res.StatusCode)
			}
		})
	}
}

func TestOptionsAndHook(t *testing.T) {
	p, c := start(t, Config{Hook: func(req *sip.Request) Reply {
		if req.CallID().Value() == "busy" {
			return Reply{Response: Response(req, 503, "Busy", "Retry-After", "9")}
		}
		return Reply{}
	}})
	send := func(callID string) *sip.Response {
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		cid := sip.CallIDHeader(callID)
		req.AppendHeader(&cid)
		req.SetDestination(c.addr)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := c.c.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := send("plain"); res.StatusCode != 200 || res.GetHeader("Allow") == nil {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
	if res := send("busy"); res.StatusCode != 503 || res.GetHeader("Retry-After").Value() != "9" {
		t.Fatalf("hooked OPTIONS: %d", res.StatusCode)
	}
	if p.Stats().Options != 1 {
		t.Fatalf("options counted %d, want 1 (the hook answered the other)", p.Stats().Options)
	}
}

func TestListenTLSNeedsCertificate(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.TLSAddr() != "" {
		t.Fatalf("TLSAddr before ListenTLS = %q", p.TLSAddr())
	}
	for _, conf := range []*tls.Config{nil, {}} {
		if err := p.ListenTLS("127.0.0.1:0", conf); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("ListenTLS(%v): error %v, want one asking for a certificate", conf, err)
		}
	}
}

// TestShutdownWithTCPClientsLogsNothing: a provider stopping while a TCP
// client is still connected must not make sipgo warn "TCP ref went
// negative" (it logs through slog.Default).
func TestShutdownWithTCPClientsLogsNothing(t *testing.T) {
	var sink strings.Builder
	var mu sync.Mutex
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return sink.Write(b)
	}), &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Serve(ctx) }()
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	req := "OPTIONS sip:" + p.Addr() + " SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=z9hG4bK-shutdown\r\n" +
		"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:" + p.Addr() + ">\r\nCall-ID: shutdown\r\nCSeq: 1 OPTIONS\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	if n, err := conn.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("answer %q, %v", buf[:n], err)
	}
	cancel()
	<-done
	// The provider closed our connection: once we read EOF, its reader
	// has released the connection too (or logged).
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for tcpReaders() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// Only TCP: UDP listeners of earlier tests' providers may log their own
	// (UDP) warning late into the default logger this test swapped in.
	if strings.Contains(sink.String(), "TCP ref went negative") {
		t.Fatalf("sipgo warned at shutdown:\n%s", sink.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// tcpReaders counts the goroutines in sipgo's TCP/TLS connection reader.
func tcpReaders() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*TransportTCP).readConnection(")
}
