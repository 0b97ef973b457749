package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
