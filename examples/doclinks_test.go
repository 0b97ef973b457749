package examples

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	inlineCode = regexp.MustCompile("`[^`\n]*`")
)

// TestDocsLinksStayInRepository: every relative link of README.md and
// docs/*.md names a file of the repository, and no document points at a
// design document outside it.
func TestDocsLinksStayInRepository(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append(docs, filepath.Join(repoRoot, "README.md")) {
		text := string(readFile(t, doc))
		for _, outside := range []string{"../shared", "shared/DESIGN.md", "/work/"} {
			if strings.Contains(text, outside) {
				t.Errorf("%s refers to %s, outside the repository (the design is docs/design.md)", doc, outside)
			}
		}
		for _, m := range mdLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(text, ""), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), target)); err != nil {
				t.Errorf("%s links to %s: %v", doc, m[1], err)
			}
		}
	}
}

// TestDesignNamesEveryPackage: docs/design.md describes every top-level
// package of the repository.
func TestDesignNamesEveryPackage(t *testing.T) {
	design := string(readFile(t, filepath.Join(repoRoot, "docs", "design.md")))
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		goFiles, _ := filepath.Glob(filepath.Join(repoRoot, e.Name(), "*.go"))
		if len(goFiles) == 0 && e.Name() != "cmd" {
			continue
		}
		name := e.Name()
		if name == "cmd" {
			name = "cmd/trunkd"
		}
		if !strings.Contains(design, "`"+name+"`") {
			t.Errorf("docs/design.md does not describe package %s", name)
		}
	}
}
