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

// parseFreeSWITCH reads one XML file: gateways anywhere in it (an
// <include> of a sip_profiles/external/*.xml file, or a whole profile),
// and pre-processor directives.
func parseFreeSWITCH(src Source, res *Result) *fsFile {
	out := &fsFile{vars: map[string]string{}}
	text := preprocessorRef.ReplaceAll(src.Data, []byte(refOpen+"${1}"+refClose))
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.Strict = false // like FreeSWITCH's parser: an unknown &entity; stays as written
	var gw *fsGateway
	var stack []string
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.add(src.Name, line, "", Error, "not well-formed XML: %v", err)
			return out
		}
		switch el := tok.(type) {
		case xml.StartElement:
			stack = append(stack, el.Name.Local)
			gw = fsStart(src.Name, line, el, stack, gw, out, res)
		case xml.EndElement:
			if el.Name.Local == "gateway" && gw != nil {
				out.gateways = append(out.gateways, gw)
				gw = nil
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return out
}

// fsStart handles one start element; it returns the gateway being read.
func fsStart(file string, line int, el xml.StartElement, stack []string, gw *fsGateway, out *fsFile, res *Result) *fsGateway {
	name := el.Name.Local
	switch {
	case name == "X-PRE-PROCESS":
		preprocess(file, line, attr(el, "cmd"), attr(el, "data"), out.vars, res)
	case name == "gateway":
		if gw != nil {
			res.add(file, line, gw.name, Error, "a gateway inside gateway %q: not imported", gw.name)
		}
		return &fsGateway{name: attr(el, "name"), file: file, line: line}
	case gw == nil:
		if name == "settings" && len(stack) > 1 && stack[len(stack)-2] == "profile" {
			res.add(file, line, "", Note, "sofia profile settings are engine settings: not imported")
		}
	case name == "param" && (parentIs(stack, "gateway") || parentIs(stack, "params")):
		gw.params = append(gw.params, fsParam{name: attr(el, "name"), value: attr(el, "value"), line: line})
	case name == "variable" && parentIs(stack, "variables"):
		gw.vars = append(gw.vars, fsParam{name: attr(el, "name"), line: line})
	case name == "params" || name == "variables":
	default:
		gw.others = append(gw.others, fsParam{name: name, line: line})
	}
	return gw
}

// parentIs reports whether the element on top of stack is inside parent.
func parentIs(stack []string, parent string) bool {
	return len(stack) > 1 && stack[len(stack)-2] == parent
}

// preprocess handles one <X-PRE-PROCESS cmd= data=/> directive.
func preprocess(file string, line int, cmd, data string, vars map[string]string, res *Result) {
	switch strings.ToLower(cmd) {
	case "set":
		name, value, ok := strings.Cut(data, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			res.add(file, line, "", Warning, "X-PRE-PROCESS set without name=value: ignored")
			return
		}
		vars[name] = strings.TrimSpace(value)
	case "include":
		res.add(file, line, "", Error, "X-PRE-PROCESS include %s is not followed: give the included files on the command line", data)
	default:
		res.add(file, line, "", Note, "X-PRE-PROCESS cmd=%s is not run: variables it would set stay unknown", cmd)
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
