package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"text/template"
)

// Block names that let a template render trunk by trunk: "header" and
// "footer" get the whole Data, "trunk" one *Trunk, "number" (optional)
// the number, from 1, of each trunk whose "trunk" output is not empty and
// is written before it. The file is header, then number+trunk for each of
// Data.Trunks, then footer.
const (
	blockHeader = "header"
	blockTrunk  = "trunk"
	blockFooter = "footer"
	blockNumber = "number"
)

// program is a parsed template and, when it defines the blocks header,
// trunk and footer, those blocks. A program never changes once made.
type program struct {
	whole *template.Template
	// key identifies the template text (and so every block's meaning):
	// "builtin:" and the name, or "file:" and the sha256 of the text.
	key string
	// verify: the blocks are used only after they rendered the same bytes
	// as the whole template once (operator files; built-in templates are
	// proven by the tests).
	verify                        bool
	header, trunk, footer, number *template.Template // nil trunk: whole template only
}

// newProgram looks up the blocks of a parsed template.
func newProgram(tmpl *template.Template, key string) *program {
	p := &program{whole: tmpl, key: key}
	header, trunk, footer := tmpl.Lookup(blockHeader), tmpl.Lookup(blockTrunk), tmpl.Lookup(blockFooter)
	if header != nil && trunk != nil && footer != nil {
		p.header, p.trunk, p.footer, p.number = header, trunk, footer, tmpl.Lookup(blockNumber)
	}
	return p
}

// blocks reports whether the program renders trunk by trunk.
func (p *program) blocks() bool { return p.trunk != nil }

// loadProgram reads and parses an operator's template file; when its text
// is the one of last, last is returned as it is.
func loadProgram(path string, vars map[string]string, last *program) (*program, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template file: %w", err)
	}
	sum := sha256.Sum256(text)
	key := "file:" + hex.EncodeToString(sum[:])
	if last != nil && last.key == key {
		return last, nil
	}
	tmpl, err := parseTemplate(path, string(text), vars)
	if err != nil {
		return nil, err
	}
	p := newProgram(tmpl, key)
	p.verify = true
	return p, nil
}

// parseTemplate parses a template with the helper functions; a missing map
// key is an error.
func parseTemplate(name, text string, vars map[string]string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(funcs(vars)).Parse(text)
}
