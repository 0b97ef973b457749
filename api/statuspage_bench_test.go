package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// BenchmarkStatusPage serves the page for 1000 probed trunks and reports
// the page's size.
func BenchmarkStatusPage(b *testing.B) {
	const n = 1000
	dir := b.TempDir()
	for i := range n {
		writeFile(b, filepath.Join(dir, fmt.Sprintf("t%04d.yaml", i)), fmt.Sprintf(
			"code: trunk-%04d\nusername: u%d\npwd: secret-%d\ndomain: t%d.example\nopts:\n  title: Trunk %d\n", i, i, i, i, i))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	states := jsonStates{}
	for _, p := range reg.Snapshot().Providers() {
		states[p.ID] = `{"id":"` + p.ID + `","code":"` + p.Code + `","target":"udp:` + p.Domain + `:5060","targets":["udp:` +
			p.Domain + `:5060"],"reachable":true,"registration":{"state":"registered","mode":"query","last_code":200,` +
			`"last_reason":"OK","last_check":"` + now + `","consecutive_failures":0,"rtt_seconds":0.02,"bindings":[],` +
			`"bindings_seen":"` + now + `","expires_at":null},"ping":{"mode":"options","state":"up","last_code":200,` +
			`"last_reason":"OK","last_check":"` + now + `","rtt_seconds":0.01,"consecutive_failures":0}}`
	}
	h := New(Options{Registry: reg, Logger: log, States: states, Status: pageSources(time.Now())})
	var size int
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "trunk-0999") {
			b.Fatalf("GET /: %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "us/trunk")
}
