package sops

import (
	"bytes"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// tool finds a real command-line tool (sops in GOPATH/bin as
// `go install` puts it); outside CI a missing tool skips, in CI it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		if p := filepath.Join(dir, "bin", name); fileExists(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required (see .ci/run)", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// keyPair makes an age identity file with the real age-keygen and returns
// its path, the identity and its recipient.
func keyPair(t *testing.T) (string, age.Identity, Recipient) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if out, err := exec.Command(tool(t, "age-keygen"), "-o", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	ids, err := LoadIdentities(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := exec.Command(tool(t, "age-keygen"), "-y", keyFile).Output()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{string(pub)})
	if err != nil {
		t.Fatal(err)
	}
	return keyFile, ids[0], rs[0]
}

// runSops runs the real sops tool in dir with the age key file and returns
// its standard output; it fails the test with sops's output on error.
func runSops(t *testing.T, dir, keyFile string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, "sops"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), EnvAgeKeyFile+"="+keyFile, "SOPS_AGE_KEY=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
