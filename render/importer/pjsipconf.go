package importer

import (
	"bufio"
	"bytes"
	"strings"
)

// confOption is one "key = value" line of an Asterisk config file, after
// comments and "\;" escapes were processed.
type confOption struct {
	key, value string
	file       string
	line       int
}

// confSection is one "[name](options)" section with its options, the
// inherited ones first (as Asterisk copies them).
type confSection struct {
	name     string
	file     string
	line     int
	template bool // "(!)": a template, not an object
	opts     []confOption
}

// confParser reads Asterisk config files the way Asterisk's config.c does:
// ";" starts a comment unless written "\;", ";--" ... "--;" is a block
// comment (nested), white space around names and values is stripped,
// "=>" is the same as "=".
type confParser struct {
	res      *Result
	sections []*confSection
	latest   map[string]*confSection // by name, the latest section read
}

func newConfParser(res *Result) *confParser {
	return &confParser{res: res, latest: map[string]*confSection{}}
}

// parse reads one file and appends its sections.
func (cp *confParser) parse(src Source) {
	sc := bufio.NewScanner(bytes.NewReader(src.Data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var cur *confSection
	depth, opened := 0, 0
	for n := 1; sc.Scan(); n++ {
		text, d := stripComments(sc.Text(), depth)
		if depth == 0 && d > 0 {
			opened = n
		}
		depth = d
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		switch text[0] {
		case '[':
			cur = cp.section(src.Name, n, text)
		case '#':
			cp.directive(src.Name, n, text)
		default:
			cp.option(src.Name, n, text, cur)
		}
	}
	if err := sc.Err(); err != nil {
		cp.res.add(src.Name, 0, "", Error, "cannot read the file: %v", err)
	}
	if depth > 0 {
		cp.res.add(src.Name, opened, "", Warning, "block comment \";--\" opened here is never closed (\"--;\"): the rest of the file is a comment")
	}
}

// stripComments removes comments from one line and turns "\;" into ";".
// depth is the block-comment nesting at the start of the line; the
// nesting at its end is returned.
func stripComments(line string, depth int) (string, int) {
	var out []byte
	seg := 0 // where text after the last comment marker starts
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != ';' {
			if depth == 0 {
				out = append(out, c)
			}
			continue
		}
		switch {
		case depth == 0 && i > seg && line[i-1] == '\\':
			out[len(out)-1] = ';'
		case strings.HasPrefix(line[i+1:], "--") && !strings.HasPrefix(line[i+1:], "---"):
			depth++
			i += 2
			seg = i + 1
		case depth > 0 && i >= seg+2 && line[i-1] == '-' && line[i-2] == '-':
			depth--
			seg = i + 1
		case depth == 0:
			return string(out), depth
		}
	}
	return string(out), depth
}

// section starts a "[name](options)" section.
func (cp *confParser) section(file string, line int, text string) *confSection {
	end := strings.IndexByte(text, ']')
	if end < 0 {
		cp.res.add(file, line, "", Error, "section header without closing ']' (Asterisk refuses the whole file)")
		return nil
	}
	s := &confSection{name: strings.TrimSpace(text[1:end]), file: file, line: line}
	rest := strings.TrimSpace(text[end+1:])
	if rest == "" {
		return cp.addSection(s)
	}
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		cp.res.add(file, line, "", Error, "unexpected text after the section header [%s]", s.name)
		return nil
	}
	var add bool
	var parents []string
	s.template, add, parents = headerOptions(rest[1 : len(rest)-1])
	if add {
		prev := cp.latest[s.name]
		if prev == nil {
			cp.res.add(file, line, "", Error, "[%s](+) adds to a section that was not defined before", s.name)
		}
		return prev
	}
	for _, name := range parents {
		parent := cp.latest[name]
		if parent == nil {
			cp.res.add(file, line, "", Error, "[%s] inherits from %q, which is not defined before it (Asterisk refuses the whole file)", s.name, name)
			return nil
		}
		s.opts = append(s.opts, parent.opts...)
	}
	return cp.addSection(s)
}

// headerOptions splits the "(…)" of a section header: "!" (a template),
// "+" (add to the section of that name) and the templates to inherit from.
func headerOptions(list string) (template, add bool, parents []string) {
	for _, o := range strings.Split(list, ",") {
		switch o = strings.TrimSpace(o); o {
		case "!":
			template = true
		case "+":
			add = true
		case "":
		default:
			parents = append(parents, o)
		}
	}
	return template, add, parents
}

func (cp *confParser) addSection(s *confSection) *confSection {
	cp.sections = append(cp.sections, s)
	cp.latest[s.name] = s
	return s
}

// directive reports "#include" and friends: they are not followed.
func (cp *confParser) directive(file string, line int, text string) {
	word, arg, _ := strings.Cut(text, " ")
	arg = strings.Trim(strings.TrimSpace(arg), `"<>`)
	switch word {
	case "#include", "#tryinclude":
		cp.res.add(file, line, "", Error, "%s %s is not followed: import that file too (give every file on the command line; objects link across them)", word, arg)
	case "#exec", "#tryexec":
		cp.res.add(file, line, "", Error, "%s is not run: import the configuration it produces instead", word)
	default:
		cp.res.add(file, line, "", Warning, "unknown directive %s ignored (Asterisk ignores it too)", word)
	}
}

// option adds "key = value" (or "key => value") to the current section.
func (cp *confParser) option(file string, line int, text string, cur *confSection) {
	key, value, ok := strings.Cut(text, "=")
	if !ok {
		cp.res.add(file, line, "", Error, "line has no '=' (Asterisk refuses the whole file)")
		return
	}
	value = strings.TrimPrefix(value, ">")
	key = strings.ToLower(strings.TrimSpace(key))
	if cur == nil {
		cp.res.add(file, line, "", Warning, "%s= outside any section ignored", key)
		return
	}
	cur.opts = append(cur.opts, confOption{key: key, value: strings.TrimSpace(value), file: file, line: line})
}
