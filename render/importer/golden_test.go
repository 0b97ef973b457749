package importer_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/render/importer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCase imports hand-written engine files (modelled on
// notes/engines.md §1 and §2) into testdata/golden/<name>/: one YAML file
// per trunk and issues.txt with every issue.
type goldenCase struct {
	name, format string
	files, vars  []string
	serverIndex  int
}

var goldenCases = []goldenCase{
	{name: "asterisk", format: "asterisk", files: []string{"testdata/asterisk/pjsip.conf"}, serverIndex: 11},
	{name: "freeswitch", format: "freeswitch", serverIndex: -1,
		files: []string{"testdata/freeswitch/acme.xml", "testdata/freeswitch/external.xml"},
		vars:  []string{"testdata/freeswitch/vars.xml"}},
}

// TestGolden compares the imported provider files and the issue report
// with testdata/golden (go test ./render/importer -run TestGolden -update
// rewrites them); every file must load through registry.Parse.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			got := importGolden(t, c)
			dir := filepath.Join("testdata", "golden", c.name)
			if *update {
				old, _ := filepath.Glob(filepath.Join(dir, "*"))
				for _, f := range old {
					os.Remove(f)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, text := range got {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if len(files) != len(got) {
				t.Errorf("%s has %d files, the import produces %d (run with -update and review)", dir, len(files), len(got))
			}
			for name, text := range got {
				want, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Errorf("%s: %v (run with -update and review)", name, err)
					continue
				}
				if string(want) != text {
					t.Errorf("%s/%s differs (run go test ./render/importer -run TestGolden -update and review the diff):\n%s", dir, name, text)
				}
			}
		})
	}
}

// importGolden runs one case and returns file name → content.
func importGolden(t *testing.T, c goldenCase) map[string]string {
	t.Helper()
	opts := importer.Options{ServerIndex: c.serverIndex, Vars: map[string]string{}}
	for _, v := range c.vars {
		vars, issues := importer.ParseFreeSWITCHVars(readSource(t, v))
		if len(issues) > 0 {
			t.Fatalf("%s: %s", v, issueLines(issues))
		}
		for k, val := range vars {
			opts.Vars[k] = val
		}
	}
	var srcs []importer.Source
	for _, f := range c.files {
		srcs = append(srcs, readSource(t, f))
	}
	res, err := importer.Import(c.format, srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"issues.txt": issueLines(res.Issues)}
	for _, tr := range res.Trunks {
		data, err := tr.YAML(importer.EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		name := registry.FileName(tr.Provider.Code)
		if _, err := registry.Parse(name, data); err != nil {
			t.Errorf("%s does not load: %v", name, err)
		}
		if !strings.Contains(string(data), "# Imported by `trunkd import --from "+c.format+"` from:") {
			t.Errorf("%s has no header saying where it comes from", name)
		}
		out[name] = string(data)
	}
	return out
}
