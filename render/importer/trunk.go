package importer

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// Trunk is one imported provider with what the YAML file says about it.
type Trunk struct {
	// Provider starts from registry.Default() and passed registry.Validate.
	Provider registry.Provider
	// Comments holds, per field path, why a value was not taken verbatim
	// from the source (a guess, an engine default, a clamp); it becomes a
	// comment on that line of the file.
	Comments map[string]string
	// Format is the source format ("asterisk" or "freeswitch").
	Format string
	// File and Line locate the object that names the trunk (the pjsip
	// endpoint section or the FreeSWITCH gateway element).
	File string
	Line int
	// Origin lists the source objects the trunk was built from, e.g.
	// "endpoint [acme] pjsip.conf:40".
	Origin []string
}

// Result is what one import produced: the trunks that passed validation
// and every issue, in source order.
type Result struct {
	Trunks []*Trunk
	Issues []Issue
	// NotImported lists the trunks (by name in the source) that were found
	// but not imported, in source order.
	NotImported []string
}

// Failed reports whether anything could not be imported: an issue of
// severity Error (a trunk, a directive or an object that was not imported).
func (r *Result) Failed() bool { return r.Count(Error) > 0 }

// Count returns the number of issues of severity s.
func (r *Result) Count(s Severity) int {
	n := 0
	for _, i := range r.Issues {
		if i.Severity == s {
			n++
		}
	}
	return n
}

// add records an issue.
func (r *Result) add(file string, line int, trunk string, sev Severity, format string, args ...any) {
	r.Issues = append(r.Issues, Issue{File: file, Line: line, Trunk: trunk, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

// draft is a trunk being built: the provider, its comments and whether an
// error stopped it.
type draft struct {
	t       *Trunk
	res     *Result
	failed  bool
	origins []originEntry
}

// originEntry is one source object of a trunk.
type originEntry struct {
	text string
	file string
	line int
}

func newDraft(res *Result, format, name, file string, line int, serverIndex int) *draft {
	d := &draft{res: res, t: &Trunk{Provider: registry.Default(), Comments: map[string]string{}, Format: format, File: file, Line: line}}
	d.p().Code = name
	if serverIndex >= 0 {
		d.p().ServerIdx = serverIndex
	} else {
		d.comment("serveridx", "not in the source: 0; set it when trunkd runs with server_index (or import with --server-index)")
	}
	return d
}

// p is the provider under construction.
func (d *draft) p() *registry.Provider { return &d.t.Provider }

// comment sets the comment of a field (the last one wins).
func (d *draft) comment(field, text string) { d.t.Comments[field] = oneLine(text) }

// origin records a source object of the trunk: "endpoint [acme] pjsip.conf:40".
func (d *draft) origin(kind, name, file string, line int) {
	text := kind + " " + name + " " + filepath.Base(file) + ":" + strconv.Itoa(line)
	d.origins = append(d.origins, originEntry{text: text, file: file, line: line})
}

// fail records an error that stops the trunk.
func (d *draft) fail(file string, line int, format string, args ...any) {
	d.failed = true
	d.res.add(file, line, d.t.Provider.Code, Error, format, args...)
}

// warn records a warning about the trunk.
func (d *draft) warn(file string, line int, format string, args ...any) {
	d.res.add(file, line, d.t.Provider.Code, Warning, format, args...)
}

// note records a note about the trunk.
func (d *draft) note(file string, line int, format string, args ...any) {
	d.res.add(file, line, d.t.Provider.Code, Note, format, args...)
}

// finish validates the provider the strict way the registry loads a file
// and adds the trunk to the result, or reports why it was not imported.
func (d *draft) finish() {
	p := d.p()
	p.ID = registry.DeriveID(p.Code)
	sort.SliceStable(d.origins, func(i, j int) bool {
		a, b := d.origins[i], d.origins[j]
		return a.file == b.file && a.line < b.line
	})
	for _, o := range d.origins {
		d.t.Origin = append(d.t.Origin, o.text)
	}
	if !d.failed {
		for _, pr := range registry.Validate(p) {
			d.fail(d.t.File, d.t.Line, "the provider would be invalid: %s: %s", pr.Field, pr.Msg)
		}
	}
	if !d.failed {
		if !isEngineName(p.Code) {
			d.warn(d.t.File, d.t.Line, "code %q is valid but trunkd's built-in engine templates only accept letters, digits, '.', '_', '+' and '-' (starting with a letter or digit): rename it before rendering", p.Code)
		}
		d.res.Trunks = append(d.res.Trunks, d.t)
		return
	}
	d.res.NotImported = append(d.res.NotImported, p.Code)
}

// setExpires sets expires from the engine's key, clamped to trunkd's
// 60-86400 seconds with a comment and a warning.
func (d *draft) setExpires(key string, n int, file string, line int) {
	c := min(max(n, 60), 86400)
	d.p().Expires = c
	if c != n {
		d.comment("expires", fmt.Sprintf("%s=%d is outside trunkd's 60-86400: clamped", key, n))
		d.warn(file, line, "%s=%d is outside trunkd's 60-86400 seconds: imported as %d", key, n, c)
	}
}

// setPing sets an OPTIONS ping every n seconds (the engine's key), clamped
// to trunkd's 1-3600 with a comment.
func (d *draft) setPing(key string, n int) {
	c := min(max(n, 1), 3600)
	p := d.p()
	p.PingMode, p.PingTimeout = "options", c
	if c != n {
		d.comment("pingtimeout", fmt.Sprintf("%s=%d is outside trunkd's 1-3600: clamped", key, n))
	}
}

// isEngineName mirrors the render templates' rule for engine object names.
func isEngineName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._+-", rune(c))) {
			return false
		}
	}
	return true
}
