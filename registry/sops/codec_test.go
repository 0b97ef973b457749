package sops

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The codec the registry reads and writes through: decrypts sops files,
// passes plaintext ones, encrypts writes, and refuses a password in clear
// unless allowed.
func TestCodec(t *testing.T) {
	keyFile, _, rcpt := keyPair(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(EnvAgeKey, "")
	t.Setenv(EnvAgeKeyFile, "")
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := New(Config{AgeIdentityFile: keyFile, AgeRecipients: []string{rcpt.String()}}, func() time.Time { return fixed })
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("code: a\npwd: s3cret\n")
	stored, err := c.Encode("a.yaml", plain)
	if err != nil || !IsEncrypted(stored) || !strings.Contains(string(stored), `lastmodified: "2026-01-02T03:04:05Z"`) {
		t.Fatalf("Encode = %s, %v", stored, err)
	}
	back, err := c.Decode("a.yaml", stored)
	if err != nil || string(back) != "code: a\npwd: \"s3cret\"\n" {
		t.Errorf("Decode = %q, %v", back, err)
	}
	if back, err := c.Decode("a.yaml", plain); err != nil || string(back) != string(plain) {
		t.Errorf("Decode of a plaintext file = %q, %v", back, err)
	}

	noKey, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noKey.Decode("a.yaml", stored); err == nil || !strings.Contains(err.Error(), "a.yaml: encrypted, and no age identity") {
		t.Errorf("Decode without identity: %v", err)
	}
	if _, err := noKey.Encode("a.yaml", plain); !errors.Is(err, ErrPlaintextRefused) {
		t.Errorf("Encode of a password without recipients: %v, want ErrPlaintextRefused", err)
	}
	for _, ok := range []string{"code: a\n", "code: a\npwd: \"\"\n"} {
		if out, err := noKey.Encode("a.yaml", []byte(ok)); err != nil || string(out) != ok {
			t.Errorf("Encode of %q without recipients = %q, %v", ok, out, err)
		}
	}
	allow, _ := New(Config{AllowPlaintext: true}, nil)
	if out, err := allow.Encode("a.yaml", plain); err != nil || string(out) != string(plain) {
		t.Errorf("Encode with allow_plaintext = %q, %v", out, err)
	}
	if _, err := New(Config{AgeIdentityFile: filepath.Join(t.TempDir(), "missing")}, nil); err == nil || !strings.Contains(err.Error(), "secrets.age_identity_file") {
		t.Errorf("New with a missing identity file: %v", err)
	}
}
