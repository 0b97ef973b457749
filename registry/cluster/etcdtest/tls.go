package etcdtest

import (
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
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// TLSFiles are PEM files of a test CA and of certificates it signed.
type TLSFiles struct {
	CA         string // the CA certificate
	ServerCert string // for 127.0.0.1, used by every member
	ServerKey  string
	ClientCert string // a client certificate the members accept
	ClientKey  string
}

// newTLSFiles writes a fresh CA, a server certificate for 127.0.0.1 and a
// client certificate into dir.
func newTLSFiles(t testing.TB, dir string) TLSFiles {
	t.Helper()
	f := TLSFiles{CA: filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem")}
	caKey, ca := newCert(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "etcdtest CA"},
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, f.CA, "")
	newCert(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "etcdtest member"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}, f.ServerCert, f.ServerKey)
	newCert(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "trunkd"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		f.ClientCert, f.ClientKey)
	return f
}

// newCert makes a P-256 key and a certificate from tmpl signed by parent
// (self-signed when parent is nil) and writes them as PEM to certPath and
// keyPath (the key not when keyPath is "").
func newCert(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate,
	certPath, keyPath string) (*ecdsa.PrivateKey, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, certPath, "CERTIFICATE", certDER)
	if keyPath != "" {
		writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
	}
	return key, cert
}

func writePEM(t testing.TB, path, typ string, data []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: data}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// clientTLS is the test's own client configuration for a TLS cluster.
func (f TLSFiles) clientTLS(t testing.TB) *tls.Config {
	cfg, err := transport.TLSInfo{TrustedCAFile: f.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
