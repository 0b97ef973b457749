package sops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"gopkg.in/yaml.v3"
)

const plainFile = `# ACME trunk (comments and layout stay)
code: acme
name:   "ACME Telecom"
pwd: "s3cr\"et: #1" # the account password
lic: {siptrunks: 5}
opts:
  comment: hand written
`

func values(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	delete(m, "sops")
	return m
}

// trunkd encrypts; the real sops tool decrypts, edits the password and
// another field; trunkd reads the result.
func TestSopsToolReadsAndEditsOurFile(t *testing.T) {
	keyFile, id, rcpt := keyPair(t)
	enc, err := Encrypt("acme.yaml", []byte(plainFile), []Recipient{rcpt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Both spellings of the password hold a '"', which base64 never writes:
	// a match cannot come from the ciphertexts by chance.
	if strings.Contains(string(enc), `s3cr"et`) || strings.Contains(string(enc), `s3cr\"et`) {
		t.Fatalf("password in clear in the encrypted file:\n%s", enc)
	}
	// Only the pwd line changed; the section is appended.
	pl, el := strings.Split(plainFile, "\n"), strings.Split(string(enc), "\n")
	for i := range pl[:len(pl)-1] {
		if (i == 3) == (pl[i] == el[i]) {
			t.Errorf("line %d: %q became %q", i+1, pl[i], el[i])
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "acme.yaml")
	writeFile(t, f, string(enc))
	if got, want := values(t, []byte(runSops(t, dir, keyFile, "decrypt", f))), values(t, []byte(plainFile)); !reflect.DeepEqual(got, want) {
		t.Errorf("sops decrypt = %v, want %v", got, want)
	}

	runSops(t, dir, keyFile, "set", f, `["pwd"]`, `"n3w-pass"`)
	runSops(t, dir, keyFile, "set", f, `["code"]`, `"acme2"`)
	edited, _ := os.ReadFile(f)
	plain, err := Decrypt("acme.yaml", edited, []age.Identity{id})
	if err != nil {
		t.Fatalf("Decrypt after sops set: %v\n%s", err, edited)
	}
	if v := values(t, plain); v["pwd"] != "n3w-pass" || v["code"] != "acme2" {
		t.Errorf("after sops set: %v", v)
	}
}

// The real sops tool encrypts with encrypted_regex ^pwd$ and
// mac_only_encrypted; trunkd decrypts, and a hand edit of another field
// keeps the file valid for both.
func TestDecryptSopsToolFile(t *testing.T) {
	keyFile, id, rcpt := keyPair(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".sops.yaml"), fmt.Sprintf(
		"creation_rules:\n  - encrypted_regex: ^pwd$\n    mac_only_encrypted: true\n    age: %s\n", rcpt))
	f := filepath.Join(dir, "acme.yaml")
	writeFile(t, f, plainFile)
	runSops(t, dir, keyFile, "encrypt", "--in-place", f)
	enc, _ := os.ReadFile(f)

	plain, err := Decrypt("acme.yaml", enc, []age.Identity{id})
	if err != nil {
		t.Fatalf("Decrypt: %v\n%s", err, enc)
	}
	if got, want := values(t, plain), values(t, []byte(plainFile)); !reflect.DeepEqual(got, want) {
		t.Errorf("Decrypt = %v, want %v", got, want)
	}
	// Line numbers stay: every line but pwd's is the sops file's line.
	encLines, plainLines := strings.Split(string(enc), "\n"), strings.Split(string(plain), "\n")
	for i, l := range plainLines {
		if l != "" && !strings.HasPrefix(l, "pwd:") && l != encLines[i] {
			t.Errorf("line %d moved: %q vs %q", i+1, l, encLines[i])
		}
	}

	hand := strings.Replace(string(enc), "code: acme", "code: acme-hand", 1)
	writeFile(t, f, hand)
	if v := values(t, []byte(runSops(t, dir, keyFile, "decrypt", f))); v["code"] != "acme-hand" {
		t.Errorf("sops decrypt after a hand edit: %v", v)
	}
	plain, err = Decrypt("acme.yaml", []byte(hand), []age.Identity{id})
	if err != nil || values(t, plain)["code"] != "acme-hand" {
		t.Errorf("Decrypt after a hand edit: %v", err)
	}
}

// Tampering, a wrong key and an unsupported section are clear errors that
// name the file, the line and the key, and never a password.
func TestDecryptErrors(t *testing.T) {
	_, id, rcpt := keyPair(t)
	_, other, _ := keyPair(t)
	enc, err := Encrypt("acme.yaml", []byte(plainFile), []Recipient{rcpt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := string(enc)
	i := strings.Index(s, "data:") + 5
	flipped := s[:i] + map[bool]string{true: "B", false: "A"}[s[i] == 'A'] + s[i+1:]
	macLine := strings.Index(s, "    mac: ENC[") + len("    mac: ENC[AES256_GCM,data:")
	badMAC := s[:macLine] + map[bool]string{true: "B", false: "A"}[s[macLine] == 'A'] + s[macLine+1:]
	for _, tc := range []struct {
		name, data string
		ids        []age.Identity
		want       string
	}{
		{"tampered value", flipped, []age.Identity{id}, "acme.yaml:4: pwd: does not decrypt"},
		{"tampered mac", badMAC, []age.Identity{id}, "sops.mac"},
		{"wrong key", s, []age.Identity{other}, "no age identity matches the file's recipients " + rcpt.String()},
		{"no key", s, nil, "no age identity"},
		{"mac over all", strings.Replace(s, "mac_only_encrypted: true", "mac_only_encrypted: false", 1), []age.Identity{id}, "sops.mac_only_encrypted: must be true"},
		{"kms", s + "    kms:\n        - arn: x\n", []age.Identity{id}, "sops.kms (line"},
	} {
		_, err := Decrypt("acme.yaml", []byte(tc.data), tc.ids)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), `s3cr"et`) {
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		}
	}
	if _, err := Decrypt("acme.yaml", []byte(s), nil); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("no key: %v, want ErrNoIdentity", err)
	}
	if _, err := Encrypt("acme.yaml", enc, []Recipient{rcpt}, time.Now()); !errors.Is(err, ErrEncrypted) {
		t.Errorf("Encrypt of an encrypted file: %v, want ErrEncrypted", err)
	}
}

// Without the key: the section and the form of the encrypted values are
// checked and the rest is returned for validation.
func TestStrip(t *testing.T) {
	_, _, rcpt := keyPair(t)
	enc, err := Encrypt("acme.yaml", []byte(plainFile), []Recipient{rcpt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Strip("acme.yaml", enc)
	if err != nil {
		t.Fatal(err)
	}
	v := values(t, out)
	if v["code"] != "acme" || !strings.HasPrefix(v["pwd"].(string), "ENC[AES256_GCM,") || strings.Contains(string(out), "sops:") {
		t.Errorf("Strip = %s", out)
	}
	broken := strings.Replace(string(enc), "pwd: ENC[AES256_GCM,data:", "pwd: ENC[AES256_GCM,dat:", 1)
	if _, err := Strip("acme.yaml", []byte(broken)); err == nil || !strings.Contains(err.Error(), "acme.yaml:4: pwd: not a sops encrypted value") {
		t.Errorf("Strip of a broken value: %v", err)
	}
	plain := []byte("code: x\npwd: y\n")
	if out, err := Strip("x.yaml", plain); err != nil || string(out) != string(plain) {
		t.Errorf("Strip of a plain file = %q, %v", out, err)
	}
}

// Layouts the splice must get right, each round-tripped and read by sops.
func TestEncryptLayouts(t *testing.T) {
	keyFile, id, rcpt := keyPair(t)
	dir := t.TempDir()
	for i, src := range []string{
		"code: a\npwd: plain-pass\n",
		"code: a\npwd: 'it''s # not a comment'\n",
		"code: a\npwd: \"tab\\there \\u00e9\"   # comment\n",
		"code: a\npwd: 12345\n",
		"code: a\npwd: 0123 # a PIN: the string 0123, not octal 83\n",
		"code: a\npwd: true\n",
		"code: a\npwd: \"\"\n",
		"code: a\nopts: {pwd: flow-pass, x: [1, 2]}\n",
		"code: a\npwd: ünïcödé pass\nopts: {comment: x}\n",
		"code: a\r\npwd: crlf\r\n",
		"code: a\npwd:\n",
	} {
		enc, err := Encrypt("p.yaml", []byte(src), []Recipient{rcpt}, time.Now())
		if err != nil {
			t.Errorf("%q: Encrypt: %v", src, err)
			continue
		}
		plain, err := Decrypt("p.yaml", enc, []age.Identity{id})
		if err != nil {
			t.Errorf("%q: Decrypt: %v\n%s", src, err, enc)
			continue
		}
		if got, want := pwdText(t, plain), pwdText(t, []byte(src)); got != want {
			t.Errorf("%q: round trip pwd %q, want %q", src, got, want)
		}
		if !IsEncrypted(enc) {
			if string(enc) != src {
				t.Errorf("%q: a file without a value to encrypt changed: %q", src, enc)
			}
			continue
		}
		f := filepath.Join(dir, fmt.Sprintf("p%d.yaml", i))
		writeFile(t, f, string(enc))
		if got, want := pwdText(t, []byte(runSops(t, dir, keyFile, "decrypt", f))), pwdText(t, []byte(src)); got != want {
			t.Errorf("%q: sops decrypt pwd %q, want %q", src, got, want)
		}
	}
	for src, want := range map[string]string{
		"pwd: |\n  multi\n":                "p.yaml:1: a block scalar",
		"code: a\npwd: two\n  lines\n":     "p.yaml:2: a value on several lines",
		"{code: a, pwd: flow-pass}\n":      "p.yaml: a file that is one flow mapping",
		"x: &p s3cret\nopts:\n  pwd: *p\n": "p.yaml:3: opts.pwd: YAML aliases are not supported",
	} {
		_, err := Encrypt("p.yaml", []byte(src), []Recipient{rcpt}, time.Now())
		var e *Error
		if !errors.As(err, &e) || e.Kind != Layout || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a Layout error %q", src, err, want)
		}
	}
}

// pwdText is the pwd (top level or below opts) of a file as the registry
// reads it: the scalar's text, whatever YAML type it resolves to.
func pwdText(t *testing.T, data []byte) string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var find func(n *yaml.Node) string
	find = func(n *yaml.Node) string {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "pwd" {
				return n.Content[i+1].Value
			}
			if v := find(n.Content[i+1]); v != "" {
				return v
			}
		}
		return ""
	}
	return find(doc.Content[0])
}
