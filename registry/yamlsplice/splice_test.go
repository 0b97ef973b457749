package yamlsplice

import (
	"errors"
	"testing"

	"gopkg.in/yaml.v3"
)

// value parses src and returns the node of key in its top mapping, or of
// the first item when that value is a flow collection.
func value(t *testing.T, src, key string) (*yaml.Node, bool) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		switch v.Kind {
		case yaml.SequenceNode:
			return v.Content[0], true
		case yaml.MappingNode:
			return v.Content[1], true
		}
		return v, false
	}
	t.Fatalf("%q: no key %s", src, key)
	return nil, false
}

func TestScalar(t *testing.T) {
	for _, c := range []struct {
		src  string
		want string // the located text
	}{
		{"a: x\n", "x"},
		{"a: x y   \n", "x y"},
		{"a: x # note\n", "x"},
		{"a: x\t# note\n", "x"},
		{"a: x#y\n", "x#y"},
		{"a: x\r\n", "x"},
		{"a: x", "x"},
		{`a: "q\"uo # ted" # c` + "\n", `"q\"uo # ted"`},
		{"a: 'it''s' # c\n", "'it''s'"},
		{"a: ''\n", "''"},
		{"a: !!str 12 # tag kept\n", "12"},
		{"a: !!str \"12\"\n", `"12"`},
		{"a: [x, 'y']\n", "x"},
		{"a: {k: v}\n", "v"},
		{"a: {k: \"v,}\"}\n", `"v,}"`},
		{"größe: wert # ü\na: wert\n", "wert"},
		{"b: &x v\na: *x # alias\n", "*x"},
	} {
		n, flow := value(t, c.src, "a")
		l := NewLines([]byte(c.src))
		start, end, err := l.Scalar(n, flow)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if got := c.src[start:end]; got != c.want {
			t.Errorf("%q: located %q, want %q", c.src, got, c.want)
		}
	}
}

func TestScalarRefuses(t *testing.T) {
	for _, c := range []struct {
		src  string
		want error
	}{
		{"a: |\n  x\n", ErrBlockScalar},
		{"a: >-\n  x\n", ErrBlockScalar},
		{"a: x\n  y\n", ErrNotOneLine},
		{"a: \"x\n  y\"\n", ErrNotOneLine},
		{"a: 'x\n  y'\n", ErrNotOneLine},
	} {
		n, flow := value(t, c.src, "a")
		if _, _, err := NewLines([]byte(c.src)).Scalar(n, flow); !errors.Is(err, c.want) {
			t.Errorf("%q: got %v, want %v", c.src, err, c.want)
		}
	}
}

func TestOffset(t *testing.T) {
	l := NewLines([]byte("ab\nüx\n"))
	for _, c := range []struct {
		line, col, want int
		ok              bool
	}{
		{1, 1, 0, true}, {1, 3, 2, true}, {2, 2, 5, true}, {2, 4, 0, false}, {1, 4, 0, false}, {4, 1, 0, false}, {0, 1, 0, false},
	} {
		got, ok := l.Offset(c.line, c.col)
		if got != c.want || ok != c.ok {
			t.Errorf("Offset(%d, %d) = %d, %v; want %d, %v", c.line, c.col, got, ok, c.want, c.ok)
		}
	}
}

func TestApply(t *testing.T) {
	data := []byte("a: 1\nb: 2\n")
	// Out of order, an insertion and a replacement; data stays untouched.
	got := Apply(data, []Edit{{Start: 10, End: 10, Text: "c: 3\n"}, {Start: 8, End: 9, Text: "20"}, {Start: 3, End: 4, Text: "x"}})
	if want := "a: x\nb: 20\nc: 3\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if string(data) != "a: 1\nb: 2\n" {
		t.Errorf("data changed: %q", data)
	}
}
