package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/render/importer"
)

// TestFileName: the files Write creates are named by registry.FileName:
// from the code, but never escaping the directory, hidden, or colliding
// for different codes.
func TestFileName(t *testing.T) {
	seen := map[string]string{}
	for code, want := range map[string]string{
		"acme":          "acme.yaml",
		"3528769":       "3528769.yaml",
		"a.b_c-d":       "a.b_c-d.yaml",
		"../etc/passwd": "etc_passwd-",
		".hidden":       "hidden-",
		"a/b":           "a_b-",
		"a b":           "a_b-",
		"a_b":           "a_b.yaml",
		"..":            "",
		"Ünïcode":       "n__code-",
	} {
		got := registry.FileName(code)
		if want != "" && !strings.HasPrefix(got, want) || !strings.HasSuffix(got, ".yaml") {
			t.Errorf("FileName(%q) = %q, want prefix %q", code, got, want)
		}
		if strings.HasPrefix(got, ".") || strings.ContainsAny(got, `/\`) || filepath.Base(got) != got || !registry.IsProviderFile(got) {
			t.Errorf("FileName(%q) = %q is not a plain provider file name", code, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("FileName(%q) = FileName(%q) = %q", code, other, got)
		}
		seen[got] = code
	}
}

// TestWrite: files are 0600 and load; an existing file is kept unless
// Force; a code already defined by another file is refused even with Force.
func TestWrite(t *testing.T) {
	res := importer.Asterisk([]importer.Source{readSource(t, "testdata/asterisk/pjsip.conf")}, importer.Options{ServerIndex: 11})
	dir := filepath.Join(t.TempDir(), "providers")
	written, issues, err := importer.Write(dir, res.Trunks, importer.WriteOptions{})
	if err != nil || len(issues) > 0 || len(written) != 3 {
		t.Fatalf("first write: %v %v %v", written, issues, err)
	}
	for _, w := range written {
		fi, err := os.Stat(w.Path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", w.Path, err, fi.Mode().Perm())
		}
	}
	snap := openSnapshot(t, dir)
	if snap.Len() != 3 {
		t.Errorf("registry loads %d providers, want 3", snap.Len())
	}
	if err := os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte("code: acme\ndomain: edited.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	written, issues, _ = importer.Write(dir, res.Trunks, importer.WriteOptions{})
	if len(written) != 0 || len(issues) != 3 {
		t.Errorf("second write without force: written %v, issues %v", written, issues)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "acme.yaml")); !strings.Contains(string(data), "edited.example") {
		t.Errorf("an existing file was replaced without Force")
	}
	written, issues, _ = importer.Write(dir, res.Trunks, importer.WriteOptions{Force: true})
	if len(written) != 3 || len(issues) != 0 {
		t.Errorf("write with force: written %v, issues %v", written, issues)
	}
	if err := os.Rename(filepath.Join(dir, "globex.yaml"), filepath.Join(dir, "renamed.yaml")); err != nil {
		t.Fatal(err)
	}
	written, issues, _ = importer.Write(dir, res.Trunks, importer.WriteOptions{Force: true})
	if len(written) != 2 || len(issues) != 1 || issues[0].Trunk != "globex" || !strings.HasSuffix(issues[0].File, "renamed.yaml") {
		t.Errorf("a code defined in another file: written %v, issues %v", written, issues)
	}
	if _, err := os.Stat(filepath.Join(dir, "globex.yaml")); err == nil {
		t.Errorf("globex.yaml was written although renamed.yaml defines globex")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestDryRunRedaction: the redacted YAML keeps the file shape but not the
// password.
func TestDryRunRedaction(t *testing.T) {
	res := importer.Asterisk([]importer.Source{readSource(t, "testdata/asterisk/pjsip.conf")}, importer.Options{ServerIndex: 11})
	for _, tr := range res.Trunks {
		data, err := tr.YAML(importer.EncodeOptions{RedactPassword: true})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Provider.Pwd != "" && strings.Contains(string(data), tr.Provider.Pwd) {
			t.Errorf("%s: the dry-run YAML holds the password", tr.Provider.Code)
		}
		if _, err := registry.Parse("x.yaml", data); err != nil {
			t.Errorf("%s: %v", tr.Provider.Code, err)
		}
	}
}
