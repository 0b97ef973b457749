package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/sops"
)

// `trunkd secrets encrypt DIR` encrypts pwd in place, keeps the rest,
// skips encrypted files and files without pwd, and never prints a password.
func TestSecretsEncrypt(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/providers/Oktell.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := registry.Parse("Oktell.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"acme.yaml":  strings.Replace(string(example), "pwd: "+want.Pwd, "pwd: \"t0p-secret\"", 1),
		"nopwd.yaml": "code: nopwd\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	encrypt := func() (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"secrets", "encrypt", "--age", id.Recipient().String(), dir}, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := encrypt()
	if code != 0 || !strings.Contains(out, "acme.yaml: pwd encrypted") || !strings.Contains(out, "nopwd.yaml: no password, unchanged") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	enc, _ := os.ReadFile(filepath.Join(dir, "acme.yaml"))
	if strings.Contains(string(enc)+out+errOut, "t0p-secret") || !strings.Contains(string(enc), "\npwd: ENC[") {
		t.Fatalf("encrypted file:\n%s", enc)
	}
	plain, err := sops.Decrypt("acme.yaml", enc, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	p, err := registry.Parse("acme.yaml", plain)
	if err != nil || p.Pwd != "t0p-secret" || p.Code != want.Code {
		t.Errorf("decrypted file does not parse as it was: %v", err)
	}
	if code, out, _ := encrypt(); code != 0 || !strings.Contains(out, "acme.yaml: already encrypted") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"secrets", "encrypt", "--age", "age1bad", dir}, &bytes.Buffer{}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "secrets.age_recipients[0]") {
		t.Errorf("bad recipient: exit %d, %s", code, stderr.String())
	}
}

// `trunkd validate` checks an encrypted file without the key (everything
// but the password) and fully with it (SOPS_AGE_KEY_FILE, as sops).
func TestValidateEncrypted(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := sops.ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../examples/providers/Oktell.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		enc, err := sops.Encrypt(name, []byte(content), rs, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), enc, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("good.yaml", string(example))
	write("bad.yaml", strings.Replace(strings.Replace(string(example), "transport: udp", "transport: carrier-pigeon", 1), "code: Oktell", "code: other", 1))
	validate := func() (int, string) {
		var stdout bytes.Buffer
		code := run(context.Background(), []string{"validate", dir}, &stdout, &bytes.Buffer{})
		return code, stdout.String()
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(sops.EnvAgeKey, "")
	t.Setenv(sops.EnvAgeKeyFile, "")
	code, out := validate()
	if code != 1 || !strings.Contains(out, "bad.yaml:") || !strings.Contains(out, "transport") || strings.Contains(out, "good.yaml") {
		t.Errorf("without the key: exit %d\n%s", code, out)
	}

	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(sops.EnvAgeKeyFile, keyFile)
	good, _ := os.ReadFile(filepath.Join(dir, "good.yaml"))
	tampered := strings.Replace(string(good), "pwd: ENC[AES256_GCM,data:", "pwd: ENC[AES256_GCM,data:AA", 1)
	if err := os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = validate()
	if code != 1 || !strings.Contains(out, "good.yaml:8: pwd: ") {
		t.Errorf("with the key: exit %d\n%s", code, out)
	}
}

// trunkd serve with a secrets: section reads a SOPS-encrypted provider
// file and writes what the API changes encrypted.
func TestServeEncryptedProviders(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := sops.ParseRecipients([]string{id.Recipient().String()})
	keyFile := filepath.Join(t.TempDir(), "age.key")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/providers/Oktell.yaml")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sops.Encrypt("Oktell.yaml", example, rs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "Oktell.yaml")
	if err := os.WriteFile(file, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	// sha256 of "demo-admin-token", as in examples/tokens.yaml.
	os.WriteFile(tokens, []byte("tokens:\n  - name: admin\n    role: admin\n    sha256: 91c16f0d6cc1bec3c3603972182a07c66ff4fa71618a975e963d6dbe42b6dd37\n"), 0o600)
	base := startServe(t, "providers_dir: "+dir+"\nprobe:\n  enabled: false\nauth:\n  tokens_file: "+tokens+
		"\nsecrets:\n  age_identity_file: "+keyFile+"\n  age_recipients: ["+id.Recipient().String()+"]\n")
	want, err := registry.Parse("Oktell.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	url := base + "/rest/v1/uc/providers/" + want.ID
	call := func(method, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer demo-admin-token")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := call("GET", ""); code != 200 || !strings.Contains(body, `"oktell-secret"`) {
		t.Fatalf("GET of the encrypted provider: %d %s", code, body)
	}
	if code, body := call("PATCH", `{"pwd":"n3w-secret"}`); code != 200 {
		t.Fatalf("PATCH pwd: %d %s", code, body)
	}
	stored, _ := os.ReadFile(file)
	if strings.Contains(string(stored), "n3w-secret") || !sops.IsEncrypted(stored) {
		t.Fatalf("the written file holds the password in clear:\n%s", stored)
	}
	plain, err := sops.Decrypt("Oktell.yaml", stored, []age.Identity{id})
	if err != nil || !strings.Contains(string(plain), `pwd: "n3w-secret"`) {
		t.Errorf("decrypted file: %v\n%s", err, plain)
	}
}
