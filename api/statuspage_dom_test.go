package api

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// domNode is an element (tag set) or a text node of a parsed HTML page.
type domNode struct {
	tag  string
	attr map[string]string
	kids []*domNode
	text string
}

// parseDOM reads HTML (the served page or Chromium's --dump-dom) with the
// standard library's lenient XML decoder, which knows HTML's void elements
// and entities: enough for the well-formed markup both produce.
func parseDOM(t *testing.T, data []byte) *domNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	root := &domNode{tag: "#document"}
	stack := []*domNode{root}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse HTML: %v\n%s", err, data)
		}
		top := stack[len(stack)-1]
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &domNode{tag: strings.ToLower(tk.Name.Local), attr: map[string]string{}}
			for _, a := range tk.Attr {
				n.attr[strings.ToLower(a.Name.Local)] = a.Value
			}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			name := strings.ToLower(tk.Name.Local)
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].tag == name {
					stack = stack[:i]
					break
				}
			}
		case xml.CharData:
			top.kids = append(top.kids, &domNode{text: string(tk)})
		}
	}
	return root
}

// all returns the descendants that match.
func (n *domNode) all(match func(*domNode) bool) []*domNode {
	var out []*domNode
	for _, k := range n.kids {
		if k.tag != "" && match(k) {
			out = append(out, k)
		}
		out = append(out, k.all(match)...)
	}
	return out
}

// byID returns the element with the id, or nil.
func (n *domNode) byID(id string) *domNode {
	if found := n.all(func(k *domNode) bool { return k.attr["id"] == id }); len(found) > 0 {
		return found[0]
	}
	return nil
}

// hasClass reports whether the element's class list holds c.
func (n *domNode) hasClass(c string) bool {
	for _, f := range strings.Fields(n.attr["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

// textContent is the element's text with white space collapsed and a
// space around every element the page displays as a block.
func (n *domNode) textContent() string {
	var b strings.Builder
	var walk func(*domNode)
	walk = func(x *domNode) {
		if x.tag == "style" || x.tag == "script" {
			return
		}
		b.WriteString(x.text)
		block := x.tag != "" && !n.inline(x)
		if block {
			b.WriteByte(' ')
		}
		for _, k := range x.kids {
			walk(k)
		}
		if block {
			b.WriteByte(' ')
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// inline reports whether the page shows x inline (no space around it).
func (*domNode) inline(x *domNode) bool {
	switch x.tag {
	case "code", "strong", "b", "time", "a":
		return true
	case "span":
		return !x.hasClass("sub")
	}
	return false
}

// tableRow is one body row of a page table: its attributes and the text of
// each cell by the cell's first class.
type tableRow struct {
	attr  map[string]string
	cells map[string]string
}

// tableRows returns the body rows of the table with the id (nil when the
// page has no such table).
func tableRows(t *testing.T, root *domNode, id string) []tableRow {
	t.Helper()
	table := root.byID(id)
	if table == nil {
		return nil
	}
	var rows []tableRow
	for _, body := range table.all(func(k *domNode) bool { return k.tag == "tbody" }) {
		for _, tr := range body.all(func(k *domNode) bool { return k.tag == "tr" }) {
			row := tableRow{attr: tr.attr, cells: map[string]string{}}
			for _, td := range tr.all(func(k *domNode) bool { return k.tag == "td" }) {
				if cls := strings.Fields(td.attr["class"]); len(cls) > 0 {
					row.cells[cls[0]] = td.textContent()
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// rowByCode indexes trunk rows by their data-code attribute.
func rowByCode(rows []tableRow) map[string]tableRow {
	out := map[string]tableRow{}
	for _, r := range rows {
		out[r.attr["data-code"]] = r
	}
	return out
}
