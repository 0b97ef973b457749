package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTokensExample(t *testing.T) {
	ts, err := LoadTokens(filepath.Join("..", "examples", "tokens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ts.Len() != 3 {
		t.Fatalf("%d tokens, want 3", ts.Len())
	}
	for token, role := range map[string]Role{adminToken: RoleAdmin, writerToken: RoleWriter, readerToken: RoleReader} {
		if got, ok := ts.match(token); !ok || got.Role != role {
			t.Errorf("%s: %v %v, want %v", token, got.Role, ok, role)
		}
	}
	for _, bad := range []string{"", "demo-admin-toke", "DEMO-ADMIN-TOKEN", adminToken + " "} {
		if _, ok := ts.match(bad); ok {
			t.Errorf("%q matched", bad)
		}
	}
}

func TestLoadTokensErrors(t *testing.T) {
	const hash = "91c16f0d6cc1bec3c3603972182a07c66ff4fa71618a975e963d6dbe42b6dd37"
	cases := []struct {
		name, content, want string
	}{
		{"unknown role", "tokens:\n  - {name: a, role: root, sha256: " + hash + "}\n", "role must be admin, writer or reader"},
		{"short hash", "tokens:\n  - {name: a, role: admin, sha256: abcd}\n", "sha256 must be 64 hex digits"},
		{"not hex", "tokens:\n  - {name: a, role: admin, sha256: " + strings.Repeat("z", 64) + "}\n", "sha256 must be 64 hex digits"},
		{"no name", "tokens:\n  - {role: admin, sha256: " + hash + "}\n", "a token has no name"},
		{"same name", "tokens:\n  - {name: a, role: admin, sha256: " + hash + "}\n  - {name: a, role: reader, sha256: " + strings.Repeat("0", 64) + "}\n", `token "a": name used twice`},
		{"same hash", "tokens:\n  - {name: a, role: admin, sha256: " + hash + "}\n  - {name: b, role: reader, sha256: " + hash + "}\n", `token "b": same sha256`},
		{"unknown key", "tokens:\n  - {name: a, role: admin, sha256: " + hash + ", token: plain}\n", "field token not found"},
		{"not YAML", "tokens: [\n", "tokens file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.yaml")
			writeFile(t, path, tc.content)
			_, err := LoadTokens(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	writeFile(t, empty, "")
	if ts, err := LoadTokens(empty); err != nil || ts.Len() != 0 {
		t.Errorf("empty file: %v, %d tokens", err, ts.Len())
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
