package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigTypoNamesKeyLineAndSuggestion: a misspelt key is reported
// with its path, line and the key it resembles, as provider files are, and
// not as a Go type error.
func TestConfigTypoNamesKeyLineAndSuggestion(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"providers_dir: x\nprobe:\n  enabled: false\n  timeuot: 2s\n", `:4: probe.timeuot: unknown key (did you mean "timeout"?)`},
		{"listn: 127.0.0.1:0\n", `:1: listn: unknown key (did you mean "listen"?)`},
		{"render:\n  targets:\n    - name: a\n      templat: kamailio/uacreg\n", `:4: render.targets[0].templat: unknown key (did you mean "template"?)`},
		{"http:\n  tls:\n    cert: a\n", `:3: http.tls.cert: unknown key`},
		{"zzzzzzzz: 1\n", `:1: zzzzzzzz: unknown key`},
	} {
		path := filepath.Join(t.TempDir(), "trunkd.yaml")
		if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfig(path)
		if err == nil || !strings.Contains(err.Error(), path+c.want) {
			t.Errorf("%q: got %v, want …%s", c.text, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "not found in type") {
			t.Errorf("%q: a Go type error: %v", c.text, err)
		}
	}
	if _, err := loadConfig(filepath.Join("..", "..", "examples", "trunkd.yaml")); err != nil {
		t.Errorf("the example config: %v", err)
	}
}
