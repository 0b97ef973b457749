package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWriteThroughput prints POST+DELETE pairs/s at 10,000 providers for
// 1, 4 and 16 concurrent API clients against the disk's fsync bound
// (fsyncBound: the three fsyncs of a pair, one after the other, in the
// providers directory). Rounds of one second alternate with rounds of the
// bound, because the disk is shared with other work and its bound moves.
// With TRUNKD_BENCH_BASELINE=path/to/an/older/trunkd a daemon of that
// binary is measured in the same rounds (before/after).
// Gated: TRUNKD_FIGURES=1 or TRUNKD_BENCH_LATENCY=1 (`make bench-latency`);
// TRUNKD_BENCH_SIZES's largest size replaces 10,000.
func TestWriteThroughput(t *testing.T) {
	bins := []string{benchBinary(t)}
	if b := os.Getenv("TRUNKD_BENCH_BASELINE"); b != "" {
		bins = append(bins, b)
	}
	sizes := benchSizes(t)
	n := sizes[len(sizes)-1]
	var daemons []*benchDaemon
	for _, bin := range bins {
		daemons = append(daemons, startBenchDaemon(t, bin, n, []string{"kamailio/uacreg"}))
	}
	table := []string{"build | providers | clients | pairs/s | fsync bound pairs/s | share"}
	for _, clients := range []int{1, 4, 16} {
		pairs, bound := make([]float64, len(daemons)), 0.0
		for round := 0; round < 5; round++ {
			for i, d := range daemons {
				pairs[i] += d.concurrentPairs(t, clients, round, time.Second) / 5
			}
			bound += fsyncBound(t, daemons[0].providers, time.Second) / 5
		}
		for i, p := range pairs {
			build := map[bool]string{true: "this", false: "baseline"}[i == 0]
			table = append(table, fmt.Sprintf("%s | %d | %d | %.0f | %.0f | %.0f %%", build, n, clients, p, bound, 100*p/bound))
		}
	}
	for _, d := range daemons {
		d.stop(t)
	}
	fmt.Println(strings.Join(table, "\n"))
}

// concurrentPairs runs clients goroutines that each create and delete
// providers one after the other for dur, and returns the pairs per second
// of all of them together.
func (d *benchDaemon) concurrentPairs(t *testing.T, clients, round int, dur time.Duration) float64 {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	counts := make([]int, clients)
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Since(start) < dur; i++ {
				if err := d.pair(hc, fmt.Sprintf("pair-%d-%d-%d", round, c, i)); err != nil {
					t.Error(err)
					return
				}
				counts[c]++
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	return float64(total) / time.Since(start).Seconds()
}

// pair creates provider code and deletes it again.
func (d *benchDaemon) pair(hc *http.Client, code string) error {
	body := fmt.Sprintf(`{"code":%q,"domain":"sip.example.net","pwd":"x"}`, code)
	status, data, err := d.do(hc, http.MethodPost, "/rest/v1/uc/providers", body)
	if err != nil || status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s %v", code, status, data, err)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &created); err != nil {
		return fmt.Errorf("POST %s: %w", code, err)
	}
	if status, data, err = d.do(hc, http.MethodDelete, "/rest/v1/uc/providers/"+created.ID, ""); err != nil || status != http.StatusNoContent {
		return fmt.Errorf("DELETE %s: %d %s %v", code, status, data, err)
	}
	return nil
}

func (d *benchDaemon) do(hc *http.Client, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// benchBinary builds trunkd for a figures test (or takes the binary
// TRUNKD_BENCH_BIN names, to measure another build), or skips the test
// when figures were not asked for.
func benchBinary(t *testing.T) string {
	if os.Getenv("TRUNKD_FIGURES") == "" && os.Getenv("TRUNKD_BENCH_LATENCY") == "" {
		t.Skip("set TRUNKD_FIGURES=1 (make bench-latency): takes minutes")
	}
	if bin := os.Getenv("TRUNKD_BENCH_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "trunkd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
