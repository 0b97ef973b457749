package sipcheck

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM of cert, for probe.tls_ca_file
}

// serialNumber is a random certificate serial number.
func serialNumber(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func newTestCA(tb testing.TB, name string) *testCA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(tb), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(tb.TempDir(), name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return &testCA{cert: cert, key: key, file: file}
}

// serverConfig issues a server certificate for the given IPs and DNS names.
func (ca *testCA) serverConfig(tb testing.TB, ips []net.IP, names []string) *tls.Config {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(tb), Subject: pkix.Name{CommonName: "fake provider"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips, DNSNames: names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion: tls.VersionTLS12}
}

// startFakeTLS runs a fake provider that also listens on TLS with conf.
func startFakeTLS(tb testing.TB, conf *tls.Config) *fakeprovider.Provider {
	tb.Helper()
	fp, err := fakeprovider.New(fakeprovider.Config{
		Users: []fakeprovider.User{{Username: "alice", Password: "alice-secret"}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := fp.Listen("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	if err := fp.ListenTLS("127.0.0.1:0", conf); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fp.Serve(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return fp
}

var loopback = []net.IP{net.IPv4(127, 0, 0, 1)}

// tlsTarget is the fake provider's TLS address with host in place of the IP.
func tlsTarget(fp *fakeprovider.Provider, host string) string {
	_, port, _ := net.SplitHostPort(fp.TLSAddr())
	return host + ":" + port
}

func TestTLSRegisterAndOptions(t *testing.T) {
	ca := newTestCA(t, "trunkd-test-ca")
	// By IP the certificate's IP SAN is verified, by name its DNS SAN.
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			fp := startFakeTLS(t, ca.serverConfig(t, loopback, []string{"localhost"}))
			h := newHarness(t, Config{TLSCAFile: ca.file})
			p := trunkAt("tls", tlsTarget(fp, host), "tls")
			p.PingMode, p.PingTimeout = "options", 10
			p = *h.create(p)
			h.clock.Advance(time.Second) // the ping's first-check slot
			s := h.waitState(p.ID, "registered and up", func(s State) bool {
				return registered(s) && s.Ping.State == Up
			})
			if s.Target != "tls:"+tlsTarget(fp, host) || *s.Ping.LastCode != 200 {
				t.Fatalf("target %q, ping %+v", s.Target, s.Ping)
			}
			regs := fp.Registers()
			if len(regs) != 2 || regs[0].Code != 401 || regs[1].Code != 200 || !regs[1].Authorized {
				t.Fatalf("provider saw %+v, want 401 then authorised 200 over TLS", regs)
			}
			if v, _ := h.gauge("trunkd_provider_reachable", "code", p.Code); v != 1 {
				t.Fatalf("reachable %v", v)
			}
			if fp.Stats().Options != 1 {
				t.Fatalf("provider answered %d OPTIONS, want 1", fp.Stats().Options)
			}
		})
	}
}

func TestTLSVerificationFails(t *testing.T) {
	ca := newTestCA(t, "trunkd-test-ca")
	for _, c := range []struct {
		name, host, caFile, want string
		names                    []string
	}{
		// The bundle holds a CA that did not sign the server certificate.
		{"untrusted CA", "127.0.0.1", newTestCA(t, "other-ca").file, "unknown authority", []string{"localhost"}},
		// Trusted CA, but the certificate does not name the dialled host.
		{"wrong name", "localhost", ca.file, "localhost", []string{"sip.trunkd.test"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fp := startFakeTLS(t, ca.serverConfig(t, loopback, c.names))
			h := newHarness(t, Config{TLSCAFile: c.caFile})
			p := trunkAt("tls", tlsTarget(fp, c.host), "tls")
			p.PingMode, p.PingTimeout = "options", 10
			p = *h.create(p)
			h.clock.Advance(time.Second) // the ping's first-check slot
			failed := func(s State) bool {
				return s.Registration.State == RegFailing && s.Registration.NextCheck != nil &&
					s.Ping.ConsecutiveFailures > 0
			}
			s := h.waitState(p.ID, "registration failing", failed)
			for _, reason := range []string{s.Registration.LastReason, s.Ping.LastReason} {
				if !strings.Contains(reason, "TLS verification failed") || !strings.Contains(reason, c.want) {
					t.Fatalf("reason %q, want TLS verification failed (%s)", reason, c.want)
				}
			}
			if *s.Registration.LastCode != 503 || s.Reachable != nil && *s.Reachable {
				t.Fatalf("registration %+v, reachable %v", s.Registration, s.Reachable)
			}
			// It never gives up: the next check runs and fails the same way.
			first := *s.Registration.LastCheck
			h.clock.Advance(s.Registration.NextCheck.Sub(h.clock.Now()))
			s = h.waitState(p.ID, "a second registration check", func(s State) bool {
				return failed(s) && s.Registration.LastCheck.After(first)
			})
			if s.Registration.ConsecutiveFailures != 2 || !strings.Contains(s.Registration.LastReason, "TLS verification failed") {
				t.Fatalf("second check %+v", s.Registration)
			}
			if n := len(fp.Registers()); n != 0 {
				t.Fatalf("a REGISTER reached the provider over an unverified connection (%d)", n)
			}
		})
	}
}

func TestCRLFPongTLS(t *testing.T) {
	ca := newTestCA(t, "trunkd-test-ca")
	fp := startFakeTLS(t, ca.serverConfig(t, loopback, nil))
	h := newHarness(t, Config{TLSCAFile: ca.file})
	p := h.create(pingTrunkAt("peer", fp.TLSAddr(), "tls", "rn"))
	s := h.waitState(p.ID, "up", func(s State) bool { return s.Ping.State == Up })
	if s.Ping.RTTSeconds == nil || *s.Ping.RTTSeconds <= 0 || s.Ping.Target != "tls:"+fp.TLSAddr() {
		t.Fatalf("ping %+v", s.Ping)
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "CRLF", "result", "pong"); v != 1 {
		t.Fatalf("pongs counted %v", v)
	}
	if s = h.pingTick(p.ID); s.Ping.State != Up || s.Ping.ConsecutiveSuccesses != 2 {
		t.Fatalf("second ping %+v", s.Ping)
	}
}

func TestTLSCAFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{filepath.Join(dir, "missing.pem"), empty, junk, dir} {
		_, err := Config{TLSCAFile: file}.settings()
		if err == nil || !strings.HasPrefix(err.Error(), "probe.tls_ca_file: ") {
			t.Errorf("%s: error %v, want one naming probe.tls_ca_file", filepath.Base(file), err)
		}
	}
	set, err := Config{TLSCAFile: newTestCA(t, "ok").file}.settings()
	if err != nil || set.tlsRoots == nil {
		t.Fatalf("a valid bundle: %v", err)
	}
}

// TestCheckOnceTLS: `trunkd probe` trusts probe.tls_ca_file too, and prints
// why a certificate was refused.
func TestCheckOnceTLS(t *testing.T) {
	ca := newTestCA(t, "trunkd-test-ca")
	fp := startFakeTLS(t, ca.serverConfig(t, loopback, []string{"localhost"}))
	for _, c := range []struct {
		name, caFile string
		ok           bool
		want         []string
	}{
		{"trusted", ca.file, true, []string{">>> REGISTER to tls:", "<<< 200 OK", "ping (options): up (200 OK)", "result: OK"}},
		{"untrusted", newTestCA(t, "other-ca").file, false, []string{"TLS verification failed", "result: FAILED"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := trunkAt("demo", tlsTarget(fp, "localhost"), "tls")
			p.PingMode = "options"
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rep, err := CheckOnce(ctx, Config{Timeout: time.Second, TLSCAFile: c.caFile}, &p, &out)
			if err != nil {
				t.Fatal(err)
			}
			if text := out.String(); rep.OK != c.ok {
				t.Fatalf("OK = %v, want %v:\n%s", rep.OK, c.ok, text)
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
