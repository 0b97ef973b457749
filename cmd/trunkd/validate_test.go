package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateExamples(t *testing.T) {
	code, out, errs := runCmd(t, "validate", "../../examples/providers")
	if code != 0 || out != "" || !strings.Contains(errs, "provider files valid") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

// TestValidateReportsEveryError: file:line: field: problem per error, exit 1.
func TestValidateReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "code: a\ndomain: sip.example.net\n")
	write("b.yaml", "code: b\ndomain: sip.example.net\ntransport: sctp\nexpires: 5\n")
	write("c.yaml", "domain: other.example.net\ncode: a\n")
	write(".hidden.yaml", "garbage: [")
	write("notes.txt", "not a provider")
	if err := os.MkdirAll(filepath.Join(dir, "archive", "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("archive/old/d.yaml", "code: d\ndomain: sip.example.net\n")
	write("archive/notes.txt", "not a provider")
	code, out, _ := runCmd(t, "validate", dir)
	want := []string{
		filepath.Join(dir, "b.yaml") + `:3: transport: must be one of udp, tcp, tls, got "sctp"`,
		filepath.Join(dir, "b.yaml") + `:4: expires: must be 0 or 60-86400 seconds, got 5`,
		filepath.Join(dir, "c.yaml") + `:2: code: duplicate: "a" is already defined in ` + filepath.Join(dir, "a.yaml"),
		filepath.Join(dir, "archive", "old", "d.yaml") + `: ignored: the daemon loads provider files from the top of the directory only, not from subdirectories`,
	}
	if code != 1 || strings.TrimSpace(out) != strings.Join(want, "\n") {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
}

func TestUsageErrors(t *testing.T) {
	if code, _, _ := runCmd(t, "validate"); code != 2 {
		t.Errorf("validate without args: %d", code)
	}
	if code, _, _ := runCmd(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: %d", code)
	}
	if code, out, _ := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "trunkd ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errs := runCmd(t, "serve"); code != 2 || !strings.Contains(errs, "--config") {
		t.Errorf("serve without config: %d %s", code, errs)
	}
}

func TestConfigUnknownKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trunkd.yaml")
	if err := os.WriteFile(path, []byte("providers_dir: x\nlisten: 127.0.0.1:0\nrender:\n  tragets: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "tragets") || !strings.Contains(err.Error(), "trunkd.yaml:4: render.tragets: unknown key") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := loadConfig("../../examples/trunkd.yaml"); err != nil {
		t.Errorf("example config: %v", err)
	}
}

// TestValidateDuplicatesAsTheDaemon: a file that loses a duplicate is not
// in force, so it cannot take a code or id from a later file; each loser
// names the file that won, as the daemon's /status does.
func TestValidateDuplicatesAsTheDaemon(t *testing.T) {
	dir := t.TempDir()
	const id = "11111111-2222-3333-4444-555555555555"
	files := map[string]string{
		"a.yaml": "code: x\ndomain: sip.example.net\n",
		"b.yaml": "domain: sip.example.net\ncode: x\nid: " + id + "\n",
		"c.yaml": "code: z\ndomain: sip.example.net\nid: " + id + "\n",
		"d.yaml": "# comment\ndomain: sip.example.net\n\ncode: x\n",
		"e.yaml": "code: e\ndomain: sip.example.net\n\nid: " + strings.ToUpper(id) + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := runCmd(t, "validate", dir)
	a := filepath.Join(dir, "a.yaml")
	want := []string{
		filepath.Join(dir, "b.yaml") + `:2: code: duplicate: "x" is already defined in ` + a,
		filepath.Join(dir, "d.yaml") + `:4: code: duplicate: "x" is already defined in ` + a,
		filepath.Join(dir, "e.yaml") + `:4: id: duplicate: ` + id + ` is already used in ` + filepath.Join(dir, "c.yaml"),
	}
	if code != 1 || strings.TrimSpace(out) != strings.Join(want, "\n") {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Snapshot().ByCode("z"); !ok {
		t.Errorf("the daemon keeps c.yaml (code z) in force; validate must not reject it")
	}
}

func TestConfigLogValues(t *testing.T) {
	for _, bad := range []string{"log:\n  level: verbose\n", "log:\n  format: xml\n"} {
		path := filepath.Join(t.TempDir(), "trunkd.yaml")
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadConfig(path); err == nil || !strings.Contains(err.Error(), "log.") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
