package api

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
)

// The API reference, docs/api.md, is rendered from openapi.json (read at
// test time) by the templates in testdata/apidoc: a hand-written preamble
// and the layout of the generated part. The roles come from the router
// itself, and every curl example is sent to a real server over the seed's
// providers: the answers shown are the daemon's own. Whoever changes
// openapi.json runs
//
//	go test ./api -run TestAPIDocUpToDate -update
//
// and commits docs/api.md with the change.
var updateAPIDoc = flag.Bool("update", false, "rewrite docs/api.md (TestAPIDocUpToDate)")

const (
	apiDocPath      = "../docs/api.md"
	apiDocTemplates = "testdata/apidoc"
)

// renderAPIDoc renders the API reference, sending the examples with send.
func renderAPIDoc(t *testing.T, send exchange) string {
	t.Helper()
	d, err := loadAPIDoc("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := loadExamples(filepath.Join(apiDocTemplates, "examples.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := d.model()
	probeRoles(t, d, m.Ops)
	buildExamples(d, m, f)
	runExamples(t, d, m, f, send)
	for _, p := range d.problems {
		t.Error(p)
	}
	if t.Failed() {
		t.FailNow()
	}
	tmpl, err := template.New("api.md.tmpl").Funcs(apiDocFuncs).ParseGlob(filepath.Join(apiDocTemplates, "*.tmpl"))
	if err != nil {
		t.Fatalf("parse the API reference templates: %v", err)
	}
	var b, preamble strings.Builder
	if err := tmpl.Execute(&b, m); err != nil {
		t.Fatalf("render the API reference: %v", err)
	}
	if err := tmpl.ExecuteTemplate(&preamble, "preamble", m); err != nil {
		t.Fatalf("render the API reference's preamble: %v", err)
	}
	checkPreamble(t, d, f.QueryOperation, preamble.String())
	return collapseBlankLines(b.String())
}

// checkPreamble fails when the hand-written explanation of the query
// language falls behind the document: every query parameter of the list,
// and every $operator its descriptions name, must be explained.
func checkPreamble(t *testing.T, d *apiDoc, queryOp, preamble string) {
	t.Helper()
	var terms []string
	for _, op := range d.operations() {
		if op.ID != queryOp {
			continue
		}
		for _, p := range op.Params {
			if p.In == "query" {
				terms = append(terms, p.Name)
				terms = append(terms, operatorToken.FindAllString(p.Description, -1)...)
			}
		}
	}
	if len(terms) == 0 {
		t.Errorf("the query operation %s has no query parameters", queryOp)
	}
	for _, term := range terms {
		if !strings.Contains(preamble, "`"+term+"`") {
			t.Errorf("testdata/apidoc/preamble.md.tmpl does not explain `%s` (named by openapi.json)", term)
		}
	}
}

// operatorToken is a filter operator such as $gte.
var operatorToken = regexp.MustCompile(`\$[a-z]+`)

// collapseBlankLines leaves at most one empty line in a row, so that the
// templates may be laid out for reading.
func collapseBlankLines(s string) string {
	for strings.Contains(s, "\n\n\n") {
		s = strings.ReplaceAll(s, "\n\n\n", "\n\n")
	}
	return s
}

// docs/api.md is what openapi.json and testdata/apidoc render to now, and
// rendering it twice (over two fresh servers) gives the same text.
func TestAPIDocUpToDate(t *testing.T) {
	got := renderAPIDoc(t, httpExchange)
	if again := renderAPIDoc(t, httpExchange); again != got {
		t.Fatalf("the API reference is not deterministic (an example's answer varies: give it omit_body in examples.json):\n%s", firstDiff(got, again))
	}
	if *updateAPIDoc {
		if err := os.WriteFile(apiDocPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(apiDocPath)
	if err != nil {
		t.Fatalf("read %s: %v (run go test ./api -run TestAPIDocUpToDate -update)", apiDocPath, err)
	}
	if string(want) != got {
		t.Errorf("docs/api.md is out of date with api/openapi.json or api/testdata/apidoc: run\n\tgo test ./api -run TestAPIDocUpToDate -update\nand review the diff:\n%s", firstDiff(string(want), got))
	}
}

// The curl commands of docs/api.md, run in sh against a real server, get
// exactly the answers the reference shows.
func TestAPIDocCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed: the API reference's curl examples cannot be checked (apt-get install curl)")
		}
		t.Skip("curl is not installed")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatalf("no sh to run the curl examples: %v", err)
	}
	viaCurl := renderAPIDoc(t, curlExchange)
	viaHTTP := renderAPIDoc(t, httpExchange)
	if viaCurl != viaHTTP {
		t.Errorf("the curl examples get other answers than the same requests sent by net/http:\n%s", firstDiff(viaHTTP, viaCurl))
	}
}

// firstDiff shows the first differing line of two texts, with context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, w, g)
		}
	}
	return "(no difference)"
}

// apiDocFuncs are the helpers of the API reference templates.
var apiDocFuncs = template.FuncMap{
	"cell":      func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(mdText(s), "|", `\|`), "\n", " ") },
	"text":      mdText,
	"anchor":    schemaAnchor,
	"opAnchor":  func(id string) string { return "op-" + strings.ToLower(id) },
	"join":      strings.Join,
	"codeList":  codeList,
	"examples":  examplesText,
	"roleText":  roleText,
	"sentence":  sentence,
	"titleCase": func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
}

// mdText escapes "<" outside code spans, so that "<token>" in a
// description is not taken for HTML.
func mdText(s string) string {
	var b strings.Builder
	code := false
	for _, r := range s {
		switch {
		case r == '`':
			code = !code
		case r == '<' && !code:
			b.WriteString("&lt;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// codeList is "`a`, `b`".
func codeList(items []string) string {
	var out []string
	for _, it := range items {
		out = append(out, "`"+it+"`")
	}
	return strings.Join(out, ", ")
}

// examplesText is " Example: `a`." or " Examples: `a`, `b`." for a table cell.
func examplesText(items []string) string {
	var quoted []string
	for _, it := range items {
		quoted = append(quoted, "`"+strings.ReplaceAll(it, "|", `\|`)+"`")
	}
	switch len(quoted) {
	case 0:
		return ""
	case 1:
		return " Example: " + quoted[0] + "."
	}
	return " Examples: " + strings.Join(quoted, ", ") + "."
}

// sentence ends s with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// roleText says who may call an operation.
func roleText(role string) string {
	switch role {
	case "none":
		return "none (no token needed)"
	case "reader":
		return "reader (any valid token)"
	case "writer":
		return "writer or admin (a reader gets 403)"
	case "admin":
		return "admin (a reader or writer gets 403)"
	}
	return role
}
