package sops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Identities come from secrets.age_identity_file, or from where the sops
// tool looks: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, $XDG_CONFIG_HOME/sops/age/keys.txt.
func TestLoadIdentities(t *testing.T) {
	keyFile, _, rcpt := keyPair(t)
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encrypt("a.yaml", []byte("pwd: x\n"), []Recipient{rcpt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	xdg := t.TempDir()
	userKeys := filepath.Join(xdg, "sops", "age", "keys.txt")
	for _, tc := range []struct {
		name, file, envKey, envFile string
		userFile                    bool
	}{
		{name: "config file", file: keyFile},
		{name: "SOPS_AGE_KEY", envKey: string(key)},
		{name: "SOPS_AGE_KEY_FILE", envFile: keyFile},
		{name: "user keys.txt", userFile: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", xdg)
			t.Setenv(EnvAgeKey, tc.envKey)
			t.Setenv(EnvAgeKeyFile, tc.envFile)
			os.RemoveAll(filepath.Join(xdg, "sops"))
			if tc.userFile {
				if err := os.MkdirAll(filepath.Dir(userKeys), 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, userKeys, string(key))
			}
			ids, err := LoadIdentities(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decrypt("a.yaml", enc, ids); err != nil {
				t.Errorf("Decrypt with the loaded identities: %v", err)
			}
		})
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(EnvAgeKey, "")
	t.Setenv(EnvAgeKeyFile, "")
	if _, err := LoadIdentities(""); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("no identity anywhere: %v, want ErrNoIdentity", err)
	}
	if _, err := LoadIdentities(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing identity file is no error")
	}
	if _, err := ParseRecipients([]string{rcpt.String(), "age1nope"}); err == nil || !strings.Contains(err.Error(), "secrets.age_recipients[1]") {
		t.Errorf("ParseRecipients of a bad key: %v", err)
	}
}
