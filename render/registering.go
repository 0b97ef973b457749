package render

import (
	"slices"
	"text/template/parse"
)

// RendersRegistering reports whether the target's template writes
// registering parts: it refers to .Registers or .Registering, as every
// built-in template with registrations does (kamailio/uacreg,
// asterisk/pjsip.conf, freeswitch/gateways.xml) and as an operator's
// template must (see the package doc, "Cluster"). A template that cannot
// be read or parsed is an error, as in New.
func (c TargetConfig) RendersRegistering() (bool, error) {
	p, _, err := c.parse()
	if err != nil {
		return false, err
	}
	for _, t := range p.whole.Templates() {
		if t.Tree != nil && refersToRegistering(t.Tree.Root) {
			return true, nil
		}
	}
	return false, nil
}

// refersToRegistering reports whether a field named Registers or
// Registering (.Registers, $t.Registers, (x).Registering) appears below n.
func refersToRegistering(n parse.Node) bool {
	kids, idents := nodeParts(n)
	if slices.Contains(idents, "Registers") || slices.Contains(idents, "Registering") {
		return true
	}
	return slices.ContainsFunc(kids, refersToRegistering)
}

// nodeParts returns the nodes right below n and the field names n
// itself names.
func nodeParts(n parse.Node) (kids []parse.Node, idents []string) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil { // nil: an if, range or with without else
			kids = n.Nodes
		}
	case *parse.PipeNode:
		for i := 0; n != nil && i < len(n.Cmds); i++ { // nil: a template call without data
			kids = append(kids, n.Cmds[i])
		}
	case *parse.ActionNode:
		kids = []parse.Node{n.Pipe}
	case *parse.TemplateNode:
		kids = []parse.Node{n.Pipe}
	case *parse.IfNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.RangeNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.WithNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.CommandNode:
		kids = n.Args
	case *parse.ChainNode:
		kids, idents = []parse.Node{n.Node}, n.Field
	case *parse.FieldNode:
		idents = n.Ident
	case *parse.VariableNode:
		idents = n.Ident
	}
	return kids, idents
}
