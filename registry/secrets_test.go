package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/trunkd/trunkd/registry/sops"
)

// secretsCodec is a registry/sops Codec with a fresh age key pair.
func secretsCodec(t *testing.T) (*sops.Codec, []sops.Recipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := sops.New(sops.Config{AgeIdentityFile: keyFile, AgeRecipients: []string{id.Recipient().String()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := sops.ParseRecipients([]string{id.Recipient().String()})
	return c, rs
}

// With Options.Secrets the registry reads SOPS files decrypted, writes
// passwords encrypted, keeps the encrypted value and section when a write
// leaves the password alone, and keeps the last good version of a file
// that does not decrypt.
func TestRegistrySecrets(t *testing.T) {
	codec, rs := secretsCodec(t)
	dir := t.TempDir()
	enc, err := sops.Encrypt("acme.yaml", []byte("code: acme\ndomain: sip.example.org\npwd: s3cret\n"), rs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(path, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Dir: dir, Secrets: codec})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Snapshot().ByCode("acme")
	if !ok || p.Pwd != "s3cret" {
		t.Fatalf("encrypted file not read: %v, invalid %v", ok, r.Snapshot().Invalid())
	}

	if _, err := r.Update(p.ID, func(p *Provider) error { p.Expires = 300; return nil }); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	encText := string(enc)
	pwdLine := encText[strings.Index(encText, "pwd: "):strings.Index(encText, "\nsops:")]
	section := encText[strings.Index(encText, "sops:"):]
	if !strings.Contains(string(after), pwdLine) || !strings.HasSuffix(string(after), section) || !strings.Contains(string(after), "expires: 300") {
		t.Errorf("an update without pwd changed the encrypted value or section:\n%s", after)
	}
	if _, err := r.Update(p.ID, func(p *Provider) error { p.Pwd = "n3w-pass"; return nil }); err != nil {
		t.Fatal(err)
	}
	created, err := r.Create(func() Provider {
		n := Default()
		n.Code, n.Domain, n.Pwd = "beta", "b.example.org", "b3ta-pass"
		return n
	}())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"acme.yaml", r.Snapshot().FileOf(created.ID)} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(data), "n3w-pass") || strings.Contains(string(data), "b3ta-pass") || !sops.IsEncrypted(data) {
			t.Errorf("%s holds a password in clear:\n%s", f, data)
		}
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Snapshot().ByCode("acme"); p == nil || p.Pwd != "n3w-pass" || p.Expires != 300 {
		t.Errorf("after reload: %+v", p)
	}

	data, _ := os.ReadFile(path)
	i := strings.Index(string(data), "pwd: ENC[AES256_GCM,data:") + len("pwd: ENC[AES256_GCM,data:")
	tampered := string(data[:i]) + map[bool]string{true: "B", false: "A"}[data[i] == 'A'] + string(data[i+1:])
	if err := os.WriteFile(path, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Snapshot().ByCode("acme"); p == nil || p.Pwd != "n3w-pass" {
		t.Errorf("the last good version is gone: %+v", p)
	}
	inv := r.Snapshot().Invalid()
	if len(inv) != 1 || !strings.Contains(inv[0].Problems[0].Error(), "acme.yaml:3: pwd: does not decrypt") {
		t.Errorf("invalid files: %+v", inv)
	}
}

// A codec's refusal is mapped by kind: a password it will not store in
// clear is an invalid value (Problems naming pwd), a layout it cannot
// encrypt in place a conflict; neither write touches the file.
func TestRegistrySecretsRefusals(t *testing.T) {
	noRecipients, err := sops.New(sops.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Dir: t.TempDir(), Secrets: noRecipients})
	if err != nil {
		t.Fatal(err)
	}
	n := Default()
	n.Code, n.Domain, n.Pwd = "clear", "c.example.org", "cl3ar-pass"
	_, err = r.Create(n)
	var probs Problems
	if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Field != "pwd" || errors.Is(err, ErrConflict) ||
		!strings.Contains(probs[0].Msg, "would be stored in clear") {
		t.Errorf("plaintext password: %v, want Problems naming pwd (not a conflict)", err)
	}
	if r.Snapshot().Len() != 0 {
		t.Errorf("a refused create left %d providers", r.Snapshot().Len())
	}

	codec, _ := secretsCodec(t)
	dir := t.TempDir()
	src := "code: blk\ndomain: b.example.org\npwd: |-\n  bl0ck-pass\n"
	path := filepath.Join(dir, "blk.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = Open(Options{Dir: dir, Secrets: codec})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Snapshot().ByCode("blk")
	if !ok {
		t.Fatalf("blk.yaml not read: %+v", r.Snapshot().Invalid())
	}
	_, err = r.Update(p.ID, func(p *Provider) error { p.Expires = 300; return nil })
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "blk.yaml:3: a block scalar") || strings.Contains(err.Error(), "bl0ck-pass") {
		t.Errorf("block scalar password: %v, want a conflict naming blk.yaml:3", err)
	}
	if data, _ := os.ReadFile(path); string(data) != src {
		t.Errorf("a refused update changed the file:\n%s", data)
	}
}
