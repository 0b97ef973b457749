package importer

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
)

// fsParam is one <param name= value=/> (or <variable>) of a gateway.
type fsParam struct {
	name, value string
	line        int
}

// fsGateway is one <gateway name="…"> element.
type fsGateway struct {
	name   string
	file   string
	line   int
	params []fsParam
	vars   []fsParam // <variables><variable …/>
	others []fsParam // other child elements (name is the element name)
}

// last returns the gateway's last param of that name: FreeSWITCH takes
// the last.
func (gw *fsGateway) last(name string) (fsParam, bool) {
	for i := len(gw.params) - 1; i >= 0; i-- {
		if gw.params[i].name == name {
			return gw.params[i], true
		}
	}
	return fsParam{}, false
}

// Pre-processor references $${name} are replaced, before the XML is
// parsed, by refOpen name refClose: characters of Unicode's private use
// area that no configuration holds. A "$${" spelled with character
// references (&#36;) is not a reference, as in FreeSWITCH, whose
// pre-processor works on the raw text.
const (
	refOpen  = "\uE000"
	refClose = "\uE001"
)

var (
	preprocessorRef = regexp.MustCompile(`\$\$\{([^}\n]*)\}`)
	expandedRef     = regexp.MustCompile(refOpen + "[^" + refOpen + refClose + "]*" + refClose)
)

// fsFile is what one FreeSWITCH XML file holds.
type fsFile struct {
	gateways []*fsGateway
	vars     map[string]string // <X-PRE-PROCESS cmd="set" data="name=value"/>
}

// fsParser reads one FreeSWITCH XML file into out.
type fsParser struct {
	file string
	res  *Result
	out  *fsFile
	gw   *fsGateway // the gateway being read, nil outside one
}

// parseFreeSWITCH reads one XML file: gateways anywhere in it (an
// <include> of a sip_profiles/external/*.xml file, or a whole profile),
// and pre-processor directives.
func parseFreeSWITCH(src Source, res *Result) *fsFile {
	p := &fsParser{file: src.Name, res: res, out: &fsFile{vars: map[string]string{}}}
	text := preprocessorRef.ReplaceAll(src.Data, []byte(refOpen+"${1}"+refClose))
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.Strict = false   // like FreeSWITCH's parser: an unknown &entity; stays as written
	open := []string{""} // the names of the open elements, below an empty root
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return p.out
		}
		if err != nil {
			res.add(src.Name, line, "", Error, "not well-formed XML: %v", err)
			return p.out
		}
		switch el := tok.(type) {
		case xml.StartElement:
			p.start(line, el, open[len(open)-1])
			open = append(open, el.Name.Local)
		case xml.EndElement:
			if el.Name.Local == "gateway" && p.gw != nil {
				p.out.gateways = append(p.out.gateways, p.gw)
				p.gw = nil
			}
			if len(open) > 1 {
				open = open[:len(open)-1]
			}
		}
	}
}

// start handles one start element inside parent.
func (p *fsParser) start(line int, el xml.StartElement, parent string) {
	name := el.Name.Local
	switch {
	case name == "X-PRE-PROCESS":
		p.preprocess(line, attr(el, "cmd"), attr(el, "data"))
	case name == "gateway":
		if p.gw != nil {
			p.res.add(p.file, line, p.gw.name, Error, "a gateway inside gateway %q: not imported", p.gw.name)
		}
		p.gw = &fsGateway{name: attr(el, "name"), file: p.file, line: line}
	case p.gw == nil:
		if name == "settings" && parent == "profile" {
			p.res.add(p.file, line, "", Note, "sofia profile settings are engine settings: not imported")
		}
	case name == "param" && (parent == "gateway" || parent == "params"):
		p.gw.params = append(p.gw.params, fsParam{name: attr(el, "name"), value: attr(el, "value"), line: line})
	case name == "variable" && parent == "variables":
		p.gw.vars = append(p.gw.vars, fsParam{name: attr(el, "name"), line: line})
	case name == "params" || name == "variables":
	default:
		p.gw.others = append(p.gw.others, fsParam{name: name, line: line})
	}
}

// preprocess handles one <X-PRE-PROCESS cmd= data=/> directive.
func (p *fsParser) preprocess(line int, cmd, data string) {
	switch strings.ToLower(cmd) {
	case "set":
		name, value, ok := strings.Cut(data, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			p.res.add(p.file, line, "", Warning, "X-PRE-PROCESS set without name=value: ignored")
			return
		}
		p.out.vars[name] = strings.TrimSpace(value)
	case "include":
		p.res.add(p.file, line, "", Error, "X-PRE-PROCESS include %s is not followed: give the included files on the command line", data)
	default:
		p.res.add(p.file, line, "", Note, "X-PRE-PROCESS cmd=%s is not run: variables it would set stay unknown", cmd)
	}
}

// attr returns the value of an attribute, "" when absent.
func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// ParseFreeSWITCHVars reads the <X-PRE-PROCESS cmd="set"
// data="name=value"/> directives of a FreeSWITCH file (vars.xml), for
// Options.Vars. Gateways in it are ignored.
func ParseFreeSWITCHVars(src Source) (map[string]string, []Issue) {
	res := &Result{}
	f := parseFreeSWITCH(src, res)
	return f.vars, res.Issues
}

// expand resolves pre-processor references in v, also those in the
// values of variables (at most 8 deep). It returns the names of
// references that no variable sets.
func expand(v string, vars map[string]string) (string, []string) {
	var missing []string
	for depth := 0; strings.Contains(v, refOpen) && depth < 8; depth++ {
		v = expandedRef.ReplaceAllStringFunc(v, func(ref string) string {
			name := strings.TrimSuffix(strings.TrimPrefix(ref, refOpen), refClose)
			val, ok := vars[name]
			if !ok {
				missing = append(missing, name)
			}
			return val
		})
	}
	if strings.Contains(v, refOpen) {
		missing = append(missing, "(variables that refer to each other without end)")
	}
	return v, missing
}
