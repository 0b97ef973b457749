package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// TLSFiles name the server's certificate and key (PEM) and, optionally,
// the certificate authorities whose client certificates it accepts.
type TLSFiles struct {
	CertFile, KeyFile string
	// ClientCAFile enables client certificates: a certificate signed by
	// one of these CAs authenticates as the tokens file's certificates
	// entry for its subject common name. Clients without one still use
	// bearer tokens.
	ClientCAFile string
}

// certCheckEvery is how often a handshake looks at the files' mtimes.
const certCheckEvery = time.Second

// TLSConfig returns the server's TLS settings: TLS 1.2 and 1.3 only (Go's
// default suites: forward secrecy and AEAD ciphers only), HTTP/1.1. The
// certificate and key are read now and read again when either file changes
// on disk (looked at, at most once a second, on a handshake); a pair that
// fails to load is logged and the previous one stays in use.
func TLSConfig(f TLSFiles, log *slog.Logger) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("tls: cert_file and key_file are both required")
	}
	kp := &keyPair{files: f, log: log}
	if err := kp.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
		GetCertificate: kp.get,
	}
	if f.ClientCAFile != "" {
		pem, err := os.ReadFile(f.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: client_ca_file %s holds no PEM certificate", f.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// keyPair is the certificate in use and the file versions it came from.
type keyPair struct {
	files TLSFiles
	log   *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
}

// fileStamp identifies a version of a file.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// load reads the pair; kp.mu is held or kp is not shared yet.
func (kp *keyPair) load() error {
	cs, err1 := stampOf(kp.files.CertFile)
	ks, err2 := stampOf(kp.files.KeyFile)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(kp.files.CertFile, kp.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", kp.files.CertFile, kp.files.KeyFile, err)
	}
	kp.cert, kp.stamp = &cert, [2]fileStamp{cs, ks}
	return nil
}

// get is the GetCertificate hook: the current pair, re-read first when a
// file changed.
func (kp *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if now := time.Now(); now.Sub(kp.checked) >= certCheckEvery {
		kp.checked = now
		cs, err1 := stampOf(kp.files.CertFile)
		ks, err2 := stampOf(kp.files.KeyFile)
		if err1 == nil && err2 == nil && [2]fileStamp{cs, ks} != kp.stamp {
			old := kp.stamp
			if err := kp.load(); err != nil {
				kp.stamp = [2]fileStamp{cs, ks} // log once per change, not per handshake
				kp.log.Error("TLS certificate changed on disk but cannot be loaded; the previous one stays in use", "error", err)
			} else {
				kp.log.Info("TLS certificate reloaded", "cert_file", kp.files.CertFile, "was_modified", old[0].mod)
			}
		}
	}
	return kp.cert, nil
}
