package api

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// benchProviders is the size of the benchmark's providers directory.
const benchProviders = 10000

// Each measurement runs this long with benchClients concurrent keep-alive
// clients over loopback; baseline and operation alternate benchRounds
// times and the best round of each counts, so a noisy neighbour on the
// machine hurts both sides alike.
const (
	benchWindow  = 1500 * time.Millisecond
	benchRounds  = 2
	benchClients = 8
)

// benchDir writes n provider files; every tenth is disabled, lic.siptrunks
// varies so that ordering by it has many ties.
func benchDir(b testing.TB, n int) string {
	b.Helper()
	dir := b.TempDir()
	for i := 0; i < n; i++ {
		enabled := 1
		if i%10 == 0 {
			enabled = 0
		}
		content := fmt.Sprintf("# bench trunk %d\ncode: trunk-%05d\nenabled: %d\nusername: user%d\npwd: pw-%d\ndomain: sip%d.example.com\n"+
			"proxyaddr: 10.%d.%d.1\nproxyport: 5060\ntransport: tcp\nserveridx: %d\nexpires: 600\npingmode: options\n"+
			"lic:\n  siptrunks: %d\ntrunksout: %d\nopts:\n  title: Trunk %d\n  comment: bench\n",
			i, i, enabled, i, i, i%50, (i/256)%256, i%256, i%16, i%97, i%30, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("trunk-%05d.yaml", i)), []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// loadClient is a keep-alive HTTP client for the benchmark's loopback servers.
func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// measure runs send from benchClients goroutines for benchWindow and
// returns completed operations per second. send returns false on failure.
func measure(b *testing.B, send func(c *http.Client, worker, seq int) bool) float64 {
	b.Helper()
	c := loadClient()
	defer c.CloseIdleConnections()
	var done, failed atomic.Int64
	stop := time.Now().Add(benchWindow)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < benchClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; time.Now().Before(stop); seq++ {
				if send(c, w, seq) {
					done.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	return float64(done.Load()) / time.Since(start).Seconds()
}

// call sends one request and drains the response; it reports whether the
// status was want.
func call(c *http.Client, method, url, token, body string, want int) bool {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	rq, err := http.NewRequest(method, url, rd)
	if err != nil {
		return false
	}
	if body != "" {
		rq.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		rq.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(rq)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == want
}

// compare measures the baseline and the operation in alternation and
// reports both rates and their ratio.
func compare(b *testing.B, baseline, unit string, perOp int, op func(c *http.Client, worker, seq int) bool) {
	b.Helper()
	var base, got float64
	for round := 0; round < benchRounds; round++ {
		base = max(base, measure(b, func(c *http.Client, _, _ int) bool { return call(c, "GET", baseline, "", "", 200) }))
		got = max(got, measure(b, op))
	}
	reqs := got * float64(perOp)
	b.ReportMetric(got, unit)
	b.ReportMetric(base, "baseline_req/s")
	b.ReportMetric(100*reqs/base, "%_of_baseline")
	b.Logf("%s: %.0f %s (%d request(s) each), baseline %.0f req/s, %.1f%% of baseline", b.Name(), got, unit, perOp, base, 100*reqs/base)
}

// BenchmarkAPI measures, on 10,000 providers over real loopback HTTP,
// GET /{id}, a filtered and ordered list page of 100, and POST+DELETE,
// each against a baseline handler that writes a fixed JSON body of the
// size of one provider. It ignores b.N: each sub-benchmark measures for a
// fixed time and so runs once.
func BenchmarkAPI(b *testing.B) {
	dir := benchDir(b, benchProviders)
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := LoadTokens(filepath.Join("..", "examples", "tokens.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Registry: reg, Tokens: tokens, Logger: discardLogger()}))
	defer srv.Close()
	one := reg.Snapshot().Providers()[benchProviders/2]
	fixed := appendEntity(nil, one, shapeRedacted, false, "")
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(fixed)
	}))
	defer base.Close()

	ids := make([]string, 0, benchProviders)
	for _, p := range reg.Snapshot().Providers() {
		ids = append(ids, p.ID)
	}
	b.Run("get_id", func(b *testing.B) {
		compare(b, base.URL, "req/s", 1, func(c *http.Client, w, seq int) bool {
			id := ids[(w*7919+seq*104729)%len(ids)]
			return call(c, "GET", srv.URL+collectionPath+"/"+id, readerToken, "", 200)
		})
	})
	b.Run("list_page", func(b *testing.B) {
		q := "?limit=100&filter=" + url.QueryEscape(`{"enabled":1}`) + "&order=-lic.siptrunks"
		compare(b, base.URL, "req/s", 1, func(c *http.Client, w, seq int) bool {
			offset := ((w*31 + seq) % 50) * 100
			return call(c, "GET", fmt.Sprintf("%s%s%s&offset=%d", srv.URL, collectionPath, q, offset), readerToken, "", 200)
		})
	})
	// Every request a filter never seen before: the scan of all providers
	// that the per-view match cache saves the paging case above.
	b.Run("list_page_uncached", func(b *testing.B) {
		var n atomic.Int64
		compare(b, base.URL, "req/s", 1, func(c *http.Client, _, _ int) bool {
			f := url.QueryEscape(fmt.Sprintf(`{"trunksout":{"$lte":%d}}`, 1000000+n.Add(1)))
			return call(c, "GET", srv.URL+collectionPath+"?limit=100&order=-lic.siptrunks&filter="+f, readerToken, "", 200)
		})
	})
	b.Run("post_delete", func(b *testing.B) {
		var n atomic.Int64
		compare(b, base.URL, "pairs/s", 2, func(c *http.Client, _, _ int) bool {
			code := fmt.Sprintf("bench-new-%d", n.Add(1))
			body := `{"code":"` + code + `","domain":"new.example.com","pwd":"x","transport":"tls"}`
			if !call(c, "POST", srv.URL+collectionPath, writerToken, body, 200) {
				return false
			}
			return call(c, "DELETE", srv.URL+collectionPath+"/"+registry.DeriveID(code), writerToken, "", 204)
		})
	})
}
