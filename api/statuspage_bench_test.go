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
	now := time.Now()
	prober := &fakeProber{summary: pageProber(), states: map[string]TrunkState{}}
	for _, p := range reg.Snapshot().Providers() {
		prober.states[p.ID] = TrunkState{Target: "udp:" + p.Domain + ":5060", Targets: []string{"udp:" + p.Domain + ":5060"},
			Registration: RegistrationState{State: "registered", Mode: "query", LastCode: 200, LastReason: "OK",
				LastCheck: now, RTT: 20 * time.Millisecond, BindingsSeen: now},
			Ping: PingState{Mode: "options", State: "up", LastCode: 200, LastReason: "OK", LastCheck: now, RTT: 10 * time.Millisecond}}
	}
	h := New(Options{Registry: reg, Logger: log, Prober: prober, Render: pageRender(now), ServerIndex: registry.AnyServer})
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
