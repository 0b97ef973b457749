package importer_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/render/importer"
)

// copyProviders copies the provider files of dir into a fresh temp dir, so
// that opening a registry on them never touches the repository.
func copyProviders(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !registry.IsProviderFile(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// openSnapshot opens a real registry on dir and fails on invalid files.
func openSnapshot(t *testing.T, dir string) *registry.Snapshot {
	t.Helper()
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	snap := reg.Snapshot()
	if len(snap.Invalid()) > 0 {
		t.Fatalf("%s: invalid provider files: %v", dir, snap.Invalid())
	}
	return snap
}

// renderTemplate renders one built-in template over snap through the
// render package's public API (the same path as `trunkd serve`) and
// returns the file.
func renderTemplate(t *testing.T, snap *registry.Snapshot, template string, serverIndex int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), strings.ReplaceAll(template, "/", "_"))
	r, err := render.New(render.Config{Targets: []render.TargetConfig{{Name: "roundtrip", Template: template, Output: out}}},
		render.Options{ServerIndex: serverIndex, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RenderOnce(t.Context(), snap); err != nil {
		t.Fatalf("render %s: %v", template, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// issueLines formats issues one per line.
func issueLines(issues []importer.Issue) string {
	var b strings.Builder
	for _, i := range issues {
		b.WriteString(i.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// codes lists the codes of trunks, sorted.
func codes(trunks []*importer.Trunk) []string {
	var out []string
	for _, t := range trunks {
		out = append(out, t.Provider.Code)
	}
	sort.Strings(out)
	return out
}

// readSource reads a test input file.
func readSource(t *testing.T, path string) importer.Source {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return importer.Source{Name: path, Data: data}
}
