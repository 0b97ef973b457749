package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusNamesFilesOnly: /status reports every invalid file and each of
// its problems by the file's name in the providers directory, never by the
// server's path (issue 9), for a syntax error, a duplicate code and a
// dangling symlink; the line stays.
func TestStatusNamesFilesOnly(t *testing.T) {
	e := newEnv(t, map[string]string{
		"broken.yaml": "code: broken\ndomain: [unclosed\n",
		"zz-dup.yaml": "domain: sip.example.net\ncode: Oktell\n",
	})
	if err := os.Symlink("nowhere.yaml", filepath.Join(e.dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Reload(); err != nil {
		t.Fatal(err)
	}
	r := e.get("/status", "")
	if r.status != 200 {
		t.Fatalf("/status: %d %s", r.status, r.body)
	}
	var raw struct {
		Registry struct {
			Invalid json.RawMessage `json:"invalid_files"`
		} `json:"registry"`
	}
	r.json(t, &raw)
	if strings.Contains(string(raw.Registry.Invalid), e.dir) {
		t.Fatalf("invalid_files hold the server path %s:\n%s", e.dir, raw.Registry.Invalid)
	}
	var st struct {
		Registry struct {
			Invalid []struct {
				File     string `json:"file"`
				Problems []struct {
					File string `json:"file"`
					Line int    `json:"line"`
				} `json:"problems"`
			} `json:"invalid_files"`
		} `json:"registry"`
	}
	r.json(t, &st)
	lines := map[string]int{"broken.yaml": 2, "dangling.yaml": 0, "zz-dup.yaml": 2}
	if len(st.Registry.Invalid) != len(lines) {
		t.Fatalf("invalid files: %s", r.body)
	}
	for _, f := range st.Registry.Invalid {
		if len(f.Problems) != 1 || f.Problems[0].File != f.File || f.Problems[0].Line != lines[f.File] {
			t.Errorf("%s: problems %+v, want one naming %s on line %d", f.File, f.Problems, f.File, lines[f.File])
		}
	}
}
