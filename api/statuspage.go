package api

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strconv"
)

// statusPageHTML is the status page template (html/template: every value
// is escaped for its context).
//
//go:embed statuspage.html
var statusPageHTML string

var statusPageTmpl = template.Must(template.New("statuspage").Parse(statusPageHTML))

// Status page refresh bounds, in seconds (?refresh=N; 0 turns it off).
const (
	defaultRefresh = 10
	minRefresh     = 2
	maxRefresh     = 3600
)

// statusPageCSP allows nothing but the page's own inline styles and the
// empty data: favicon: no script, no external asset, no form, no framing.
const statusPageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// statusPage answers GET / with the read-only HTML status page: trunks with
// their live SIP state, invalid files and render targets. It never holds a
// password: it is built from chosen fields only, never from a whole entity.
func (s *server) statusPage(w http.ResponseWriter, r *http.Request) {
	refresh, err := parseRefresh(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := s.buildStatusPage(s.o.Clock.Now())
	page.Refresh = refresh
	var buf bytes.Buffer
	if err := statusPageTmpl.Execute(&buf, page); err != nil {
		s.log.Error("render the status page", "error", err)
		s.fail(w, r, errorf(http.StatusInternalServerError, "internal error: cannot render the status page"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", statusPageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// parseRefresh reads the page's only query parameter, refresh (seconds
// between reloads; 0 turns reloading off).
func parseRefresh(raw string) (int, error) {
	p, err := params(raw, "refresh")
	if err != nil {
		return 0, err
	}
	v, ok := p["refresh"]
	if !ok {
		return defaultRefresh, nil
	}
	n, err := nonNegative("refresh", v)
	if err != nil || (n != 0 && (n < minRefresh || n > maxRefresh)) {
		return 0, badRequest("refresh must be 0 (off) or %d to %d seconds", minRefresh, maxRefresh)
	}
	return n, nil
}
