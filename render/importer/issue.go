package importer

import (
	"strconv"
	"strings"
	"unicode"
)

// Severity ranks an Issue.
type Severity int

// The severities of issues.
const (
	// Note: a setting the provider model does not carry, usually one the
	// render templates write themselves with another value.
	Note Severity = iota
	// Warning: something was dropped or adapted; the trunk was imported.
	Warning
	// Error: the trunk (or the construct) was not imported.
	Error
)

// String names the severity as it is printed.
func (s Severity) String() string {
	switch s {
	case Note:
		return "note"
	case Warning:
		return "warning"
	default:
		return "error"
	}
}

// Issue is one thing the importer could not map, located in the source.
// Messages never hold a password: only names of keys, sections and
// variables.
type Issue struct {
	File     string
	Line     int
	Trunk    string // the trunk (code) it concerns, "" for file-level issues
	Severity Severity
	Msg      string
}

// String formats the issue as "file:line: trunk: severity: message".
func (i Issue) String() string {
	s := i.File
	if i.Line > 0 {
		s += ":" + strconv.Itoa(i.Line)
	}
	s += ": "
	if i.Trunk != "" {
		s += i.Trunk + ": "
	}
	return s + i.Severity.String() + ": " + oneLine(i.Msg)
}

// oneLine escapes line breaks and other control characters (a value from
// an XML attribute may hold them) so that one issue stays one line.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
