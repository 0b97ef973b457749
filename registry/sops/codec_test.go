package sops

import (
	"errors"
	"os"
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
	c, err := New(Config{AgeIdentityFile: keyFile, AgeRecipients: []string{rcpt.String()}}, fixedClock(fixed))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("code: a\npwd: s3cret\n")
	stored, err := c.Encode("a.yaml", plain, nil)
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
	var e *Error
	if _, err := noKey.Decode("a.yaml", stored); !errors.As(err, &e) || e.Kind != Broken || !errors.Is(err, ErrNoIdentity) ||
		!strings.Contains(err.Error(), "a.yaml: encrypted, and no age identity") {
		t.Errorf("Decode without identity: %v", err)
	}
	if _, err := noKey.Encode("a.yaml", plain, nil); !errors.Is(err, ErrPlaintextRefused) || !errors.As(err, &e) || e.Kind != Plaintext || e.File != "a.yaml" {
		t.Errorf("Encode of a password without recipients: %v, want a Plaintext Error (ErrPlaintextRefused)", err)
	}
	for _, ok := range []string{"code: a\n", "code: a\npwd: \"\"\n"} {
		if out, err := noKey.Encode("a.yaml", []byte(ok), nil); err != nil || string(out) != ok {
			t.Errorf("Encode of %q without recipients = %q, %v", ok, out, err)
		}
	}
	allow, _ := New(Config{AllowPlaintext: true}, nil)
	if out, err := allow.Encode("a.yaml", plain, nil); err != nil || string(out) != string(plain) {
		t.Errorf("Encode with allow_plaintext = %q, %v", out, err)
	}
	if _, err := New(Config{AgeIdentityFile: filepath.Join(t.TempDir(), "missing")}, nil); err == nil || !strings.Contains(err.Error(), "secrets.age_identity_file") {
		t.Errorf("New with a missing identity file: %v", err)
	}
}

// A write that leaves the password as it was keeps the encrypted value and
// the sops section byte for byte (a file the sops tool wrote), and the sops
// tool still decrypts the result; a new password is encrypted afresh.
func TestCodecKeepsSectionWhenPwdUnchanged(t *testing.T) {
	keyFile, _, rcpt := keyPair(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".sops.yaml"), "creation_rules:\n  - encrypted_regex: ^pwd$\n    mac_only_encrypted: true\n    age: "+rcpt.String()+"\n")
	f := filepath.Join(dir, "a.yaml")
	writeFile(t, f, "code: a\npwd: s3cret # kept\nexpires: 600\n")
	runSops(t, dir, keyFile, "encrypt", "--in-place", f)
	stored, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{AgeIdentityFile: keyFile, AgeRecipients: []string{rcpt.String()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.Decode("a.yaml", stored)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(plain), "expires: 600", "expires: 300", 1)
	out, err := c.Encode("a.yaml", []byte(edited), stored)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(string(stored), "expires: 600", "expires: 300", 1); string(out) != want {
		t.Errorf("unchanged pwd: got\n%s\nwant\n%s", out, want)
	}
	writeFile(t, f, string(out))
	if got := runSops(t, dir, keyFile, "decrypt", f); !strings.Contains(got, "expires: 300") || !strings.Contains(got, "s3cret") {
		t.Errorf("sops decrypt after the edit:\n%s", got)
	}

	// The new password has a '-', which base64 never writes: it cannot
	// turn up by chance in the ciphertexts, MAC or age block (a three-letter
	// one did, once).
	changed := strings.Replace(string(plain), `"s3cret"`, `"n3w-pwd"`, 1)
	out, err = c.Encode("a.yaml", []byte(changed), stored)
	if err != nil || strings.Contains(string(out), "n3w-pwd") || string(out) == string(stored) {
		t.Fatalf("new pwd: %v\n%s", err, out)
	}
	writeFile(t, f, string(out))
	if got := runSops(t, dir, keyFile, "decrypt", f); !strings.Contains(got, "n3w-pwd") {
		t.Errorf("sops decrypt after a new password:\n%s", got)
	}
}

// fixedClock is a Clock that always says t.
type fixedClock time.Time

// Now is t.
func (c fixedClock) Now() time.Time { return time.Time(c) }
