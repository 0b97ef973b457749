package render

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"text/template"
	"time"
)

// target is one configured render target. cfg and the fields set by
// newTarget never change; the rest is guarded by Renderer.mu.
type target struct {
	cfg     TargetConfig
	builtin bool
	parsed  *template.Template // built-in templates are parsed once
	timeout time.Duration
	mode    os.FileMode
	failRe  *regexp.Regexp
	trunkRe *regexp.Regexp
	names   [2]namesMemo // applying goroutine only
	// pendingReload: the live file may not be loaded by the engine (its
	// reload failed and could not be rolled back). Applying goroutine only.
	pendingReload bool

	st        TargetStatus
	due       time.Time       // zero: nothing to do until a trigger
	lastRun   time.Time       // end of the last render attempt
	failures  int             // consecutive failures, for the retry backoff
	confirmed map[string]bool // removals the operator confirmed
}

// parseTemplate parses a template with the helper functions; a missing map
// key is an error.
func parseTemplate(name, text string, vars map[string]string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(funcs(vars)).Parse(text)
}

// loadTemplateFile reads and parses an operator's template file.
func loadTemplateFile(path string, vars map[string]string) (*template.Template, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template file: %w", err)
	}
	return parseTemplate(path, string(text), vars)
}

// template returns the parsed template; a template file is read again for
// every render, so an edited file is picked up without a restart.
func (t *target) template() (*template.Template, error) {
	if t.builtin {
		return t.parsed, nil
	}
	return loadTemplateFile(t.cfg.Template, t.cfg.Vars)
}

// execute renders data. On failure it names the first trunk whose values
// fail on their own, so that the operator knows which provider to fix.
func execute(tmpl *template.Template, data *Data) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(256 * (len(data.Trunks) + 1))
	err := tmpl.Execute(&buf, data)
	if err == nil {
		return buf.Bytes(), nil
	}
	for _, tr := range data.Trunks {
		one := *data
		one.Trunks = []*Trunk{tr}
		one.Registering = nil
		if tr.Registers {
			one.Registering = one.Trunks
		}
		if tmpl.Execute(io.Discard, &one) != nil {
			return nil, fmt.Errorf("trunk %q: %w", tr.Code, err)
		}
	}
	return nil, err
}

// trunkNames returns the trunks found in a file by the target's trunk
// pattern, matched per line (the first group names a trunk, else the whole
// match). The last
// two results are remembered by content hash: the live file of one render
// is usually the output of the previous one.
func (t *target) trunkNames(data []byte) map[string]bool {
	sum := sha256.Sum256(data)
	for _, m := range t.names {
		if m.names != nil && m.sum == sum {
			return m.names
		}
	}
	names := scanNames(t.trunkRe, data)
	t.names[1], t.names[0] = t.names[0], namesMemo{sum: sum, names: names}
	return names
}

// namesMemo is a remembered trunkNames result.
type namesMemo struct {
	sum   [sha256.Size]byte
	names map[string]bool
}

// scanNames matches re against each line of data (at most one trunk per
// line: matching line by line is several times faster than over the whole
// file, which matters at 10,000 trunks).
func scanNames(re *regexp.Regexp, data []byte) map[string]bool {
	names := map[string]bool{}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		m := re.FindSubmatch(line)
		switch {
		case m == nil:
		case len(m) > 1:
			names[string(m[1])] = true
		default:
			names[string(m[0])] = true
		}
	}
	return names
}

// removedNames lists the names of old that are not in next, sorted.
func removedNames(old, next map[string]bool) []string {
	var out []string
	for n := range old {
		if !next[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
