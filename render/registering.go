package render

import (
	"fmt"
	"os"
	"text/template/parse"

	"github.com/trunkd/trunkd/templates"
)

// RendersRegistering reports whether the target's template writes
// registering parts: it refers to .Registers or .Registering, as every
// built-in template with registrations does (kamailio/uacreg,
// asterisk/pjsip.conf, freeswitch/gateways.xml) and as an operator's
// template must (see the package doc, "Cluster"). A template that cannot
// be read or parsed is an error, as in New.
func (c TargetConfig) RendersRegistering() (bool, error) {
	text, ok := templates.Lookup(c.Template)
	if !ok {
		b, err := os.ReadFile(c.Template)
		if err != nil {
			return false, fmt.Errorf("template: %w", err)
		}
		text = string(b)
	}
	tmpl, err := parseTemplate(c.Template, text, c.Vars)
	if err != nil {
		return false, fmt.Errorf("template %s: %w", c.Template, err)
	}
	for _, t := range tmpl.Templates() {
		if t.Tree != nil && refersToRegistering(t.Tree.Root) {
			return true, nil
		}
	}
	return false, nil
}

// refersToRegistering reports whether a field named Registers or
// Registering (.Registers, $t.Registers, (x).Registering) appears below n.
func refersToRegistering(n parse.Node) bool {
	var idents []string
	var kids []parse.Node
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil { // an if, range or with without else
			return false
		}
		kids = n.Nodes
	case *parse.ActionNode:
		kids = []parse.Node{n.Pipe}
	case *parse.IfNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.RangeNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.WithNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.TemplateNode:
		kids = []parse.Node{n.Pipe}
	case *parse.PipeNode:
		if n == nil { // a template call without data
			return false
		}
		for _, c := range n.Cmds {
			kids = append(kids, c)
		}
	case *parse.CommandNode:
		kids = n.Args
	case *parse.ChainNode:
		kids, idents = []parse.Node{n.Node}, n.Field
	case *parse.FieldNode:
		idents = n.Ident
	case *parse.VariableNode:
		idents = n.Ident
	}
	for _, id := range idents {
		if id == "Registers" || id == "Registering" {
			return true
		}
	}
	for _, k := range kids {
		if refersToRegistering(k) {
			return true
		}
	}
	return false
}
