package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA signs certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for cn with the given serial.
func (ca *testCA) issue(t *testing.T, cn string, serial int64, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// serveTLS serves h over TLS with the files until the test ends.
func serveTLS(t *testing.T, h http.Handler, files TLSFiles) string {
	t.Helper()
	cfg, err := TLSConfig(files, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewHTTPServer(h, Limits{}, cfg, discardLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "https://" + ln.Addr().String()
}

func tlsClient(ca *testCA, cert *tls.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cfg := &tls.Config{RootCAs: pool}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
}

// TestTLSCertificateReloads: the server's certificate is replaced on disk
// and the next handshakes present the new one, without a restart.
func TestTLSCertificateReloads(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	files := TLSFiles{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	install := func(serial int64) {
		c, k := ca.issue(t, "trunkd", serial, false)
		writeFile(t, files.KeyFile, string(k))
		writeFile(t, files.CertFile, string(c))
	}
	install(100)
	base := serveTLS(t, New(Options{Logger: discardLogger()}), files)
	client := tlsClient(ca, nil)
	serial := func() int64 {
		res, err := client.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		if res.TLS.Version < tls.VersionTLS12 {
			t.Fatalf("TLS version %x", res.TLS.Version)
		}
		return res.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 100 {
		t.Fatalf("serial %d, want 100", got)
	}
	install(200)
	// A changed mtime may fall in the same second on coarse file systems:
	// move it forward so the change is visible.
	later := time.Now().Add(2 * time.Second)
	_ = os.Chtimes(files.CertFile, later, later)
	waitFor(t, "the new certificate in a handshake", 10*time.Second, func() bool { return serial() == 200 })
}

// TestClientCertificateAuthenticates: a client certificate from the
// client CA whose common name the tokens file lists gets that role; no
// certificate and no token is a 401.
func TestClientCertificateAuthenticates(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	c, k := ca.issue(t, "trunkd", 1, false)
	files := TLSFiles{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), ClientCAFile: filepath.Join(dir, "ca.pem")}
	writeFile(t, files.CertFile, string(c))
	writeFile(t, files.KeyFile, string(k))
	writeFile(t, files.ClientCAFile, string(ca.pem))
	tokensPath := filepath.Join(dir, "tokens.yaml")
	writeFile(t, tokensPath, "tokens: []\ncertificates:\n  - name: ops-laptop\n    role: admin\n    common_name: ops.example.com\n")
	tokens, err := LoadTokens(tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	o := e.opts
	o.Tokens = tokens
	base := serveTLS(t, New(o), files)
	cc, ck := ca.issue(t, "ops.example.com", 2, true)
	pair, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		want   int
	}{
		{"with certificate", tlsClient(ca, &pair), http.StatusOK},
		{"without", tlsClient(ca, nil), http.StatusUnauthorized},
	} {
		res, err := tc.client.Get(base + collectionPath + "/" + sipnetID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, res.StatusCode, b, tc.want)
		}
		if tc.want == http.StatusOK && !strings.Contains(string(b), sipnetPwd) {
			t.Errorf("%s: the admin certificate does not see pwd: %s", tc.name, b)
		}
	}
}
