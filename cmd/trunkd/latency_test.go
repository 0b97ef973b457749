package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// TestLatencyTable drives real saves against the real daemon and prints
// the table of issue 16: edit → reload command started (p50/p90), bad
// renders, lost second edits, API write → reload started
// (TestWriteThroughput has the POST+DELETE pairs/s). It takes minutes, so
// it runs only with TRUNKD_FIGURES=1 or TRUNKD_BENCH_LATENCY=1 (`make bench-latency`);
// TRUNKD_BENCH_EDITS sets the saves per kind and size (default 40),
// TRUNKD_BENCH_SIZES the provider counts (default 100,1000,10000; the API
// rows are measured at the largest).
//
// The daemon renders kamailio/uacreg for every provider (all register);
// its reload_cmd records `date +%s%N` and copies the live file, so each
// reload is checked for what the engine would have read: every row
// present, and the edited row from one save only (a partial read would
// mix two). Saves are spaced beyond the render's one-render-per-second
// throttle, which the second-edit column then shows.
func TestLatencyTable(t *testing.T) {
	bin := benchBinary(t)
	edits := 40
	if v, err := strconv.Atoi(os.Getenv("TRUNKD_BENCH_EDITS")); err == nil && v > 0 {
		edits = v
	}
	var table []string
	table = append(table, "providers | save | p50 ms | p90 ms | max ms | bad renders | lost")
	sizes := benchSizes(t)
	for _, n := range sizes {
		d := startBenchDaemon(t, bin, n)
		for _, kind := range []string{"atomic", "in-place"} {
			s := d.saves(t, kind, edits)
			table = append(table, fmt.Sprintf("%d | %s | %s | %d | %d", n, kind, s.percentiles(), s.bad, s.lost))
		}
		s := d.secondEdits(t, max(edits/4, 5))
		table = append(table, fmt.Sprintf("%d | 2nd save +20 ms | %s | %d | %d", n, s.percentiles(), s.bad, s.lost))
		if n == sizes[len(sizes)-1] {
			s := d.apiWrites(t, max(edits/2, 10))
			table = append(table, fmt.Sprintf("%d | API PATCH | %s | %d | %d", n, s.percentiles(), s.bad, s.lost))
		}
		d.stop(t)
	}
	fmt.Println(strings.Join(table, "\n"))
}

// benchSizes is the provider counts of the figures tests: 100, 1,000 and
// 10,000, or TRUNKD_BENCH_SIZES (e.g. "100,1000").
func benchSizes(t *testing.T) []int {
	v := os.Getenv("TRUNKD_BENCH_SIZES")
	if v == "" {
		return []int{100, 1000, 10000}
	}
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("TRUNKD_BENCH_SIZES: %q", v)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// benchDaemon is one running `trunkd serve` and its files.
type benchDaemon struct {
	n                int
	providers        string
	reloads          string
	base             string
	cmd              *exec.Cmd
	stderr           *bytes.Buffer
	marker           int
	seen             map[string]bool // reload copies already looked at
	lastReload       time.Time
	editedPath, code string
}

const benchToken = "bench-writer-token"

func startBenchDaemon(t *testing.T, bin string, n int) *benchDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &benchDaemon{n: n, providers: filepath.Join(dir, "providers"), reloads: filepath.Join(dir, "reloads"),
		seen: map[string]bool{}, code: "lat-00000"}
	for _, p := range []string{d.providers, d.reloads, filepath.Join(dir, "out")} {
		mustOK(t, os.Mkdir(p, 0o755))
	}
	for i := 0; i < n; i++ {
		mustOK(t, os.WriteFile(filepath.Join(d.providers, fmt.Sprintf("lat-%05d.yaml", i)), benchProvider(i, 0), 0o600))
	}
	d.editedPath = filepath.Join(d.providers, "lat-00000.yaml")
	sum := sha256.Sum256([]byte(benchToken))
	mustOK(t, os.WriteFile(filepath.Join(dir, "tokens.yaml"), []byte("tokens:\n  - name: bench\n    role: writer\n    sha256: "+hex.EncodeToString(sum[:])+"\n"), 0o600))
	out := filepath.Join(dir, "out", "uacreg")
	cfg := fmt.Sprintf(`providers_dir: %s
listen: 127.0.0.1:0
auth:
  tokens_file: %s
render:
  targets:
    - name: uacreg
      template: kamailio/uacreg
      output: %s
      reload_cmd: t=$(date +%%s%%N); cp %s %s/.c-$t && mv %[5]s/.c-$t %[5]s/r-$t
probe:
  enabled: false
log:
  level: warn
`, d.providers, filepath.Join(dir, "tokens.yaml"), out, out, d.reloads)
	mustOK(t, os.WriteFile(filepath.Join(dir, "trunkd.yaml"), []byte(cfg), 0o600))
	d.cmd = exec.Command(bin, "serve", "--config", filepath.Join(dir, "trunkd.yaml"))
	d.stderr = &bytes.Buffer{}
	d.cmd.Stderr = d.stderr
	stdout, err := d.cmd.StdoutPipe()
	mustOK(t, err)
	mustOK(t, d.cmd.Start())
	t.Cleanup(func() { d.stop(t) })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "trunkd listening on "); ok {
			d.base = a
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if d.base == "" {
		t.Fatalf("daemon did not start:\n%s", d.stderr)
	}
	// The first render, then one throttle interval.
	d.waitReload(t, time.Now().Add(-time.Hour), 0, 0, 120*time.Second)
	return d
}

func (d *benchDaemon) stop(t *testing.T) {
	if d.cmd == nil || d.cmd.Process == nil || d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
	if t.Failed() {
		t.Logf("daemon log (%d providers):\n%s", d.n, d.stderr)
	}
}

// benchProvider is provider i; the marker m appears in its first and its
// last value, so a render of a partly written file shows two markers.
func benchProvider(i, m int) []byte {
	return fmt.Appendf(nil, `username: u%[1]d-m%[3]d
code: lat-%05[1]d
login: "%[1]d"
domain: sip%[1]d.example.net
proxyaddr: 10.%[2]d.%[4]d.1
proxyport: 5060
transport: udp
reg: 1
expires: 600
lic:
  siptrunks: 5
trunksout: 3
opts:
  title: Trunk %[1]d with a title long enough to make the file a realistic size
pwd: p%[1]d-m%[3]d
`, i, i/250, m, i%250)
}

// sample is the outcome of a series of edits.
type sample struct {
	lat       []time.Duration
	bad, lost int
}

func (s *sample) percentiles() string {
	if len(s.lat) == 0 {
		return "- | - | -"
	}
	slices.Sort(s.lat)
	at := func(q float64) float64 { return float64(s.lat[int(q*float64(len(s.lat)-1))].Microseconds()) / 1000 }
	return fmt.Sprintf("%.0f | %.0f | %.0f", at(0.5), at(0.9), float64(s.lat[len(s.lat)-1].Microseconds())/1000)
}

// saves makes count saves of one kind, each after the throttle interval.
func (d *benchDaemon) saves(t *testing.T, kind string, count int) sample {
	var s sample
	for i := 0; i < count; i++ {
		d.spaceOut()
		d.marker++
		d.save(t, kind, d.marker)
		d.measure(t, time.Now(), d.marker, &s)
	}
	return s
}

// secondEdits saves twice, 20 ms apart; the second must reach a reload.
func (d *benchDaemon) secondEdits(t *testing.T, count int) sample {
	var s sample
	for i := 0; i < count; i++ {
		d.spaceOut()
		d.marker++
		d.save(t, "in-place", d.marker)
		time.Sleep(20 * time.Millisecond) // the gap under test
		d.marker++
		d.save(t, "atomic", d.marker)
		d.measure(t, time.Now(), d.marker-1, &s)
	}
	return s
}

// apiWrites PATCHes the edited provider; the time runs from the request.
func (d *benchDaemon) apiWrites(t *testing.T, count int) sample {
	var s sample
	id := registry.DeriveID(d.code)
	for i := 0; i < count; i++ {
		d.spaceOut()
		d.marker++
		body := fmt.Sprintf(`{"username":"u0-m%d","pwd":"p0-m%d"}`, d.marker, d.marker)
		start := time.Now()
		if code := d.call(t, http.MethodPatch, "/rest/v1/uc/providers/"+id, body, nil); code != http.StatusOK {
			t.Fatalf("PATCH: status %d", code)
		}
		d.measure(t, start, d.marker, &s)
	}
	return s
}

func (d *benchDaemon) call(t *testing.T, method, path, body string, into any) int {
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	mustOK(t, err)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if into != nil {
		_ = json.Unmarshal(data, into)
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// fsyncBound measures what the disk allows for a POST+DELETE pair: write
// and fsync a file, rename it into place, fsync the directory, remove it,
// fsync the directory, in the providers directory: the same three fsyncs
// the registry issues per pair (counted with strace, see registry's doc).
func fsyncBound(t *testing.T, dir string, dur time.Duration) float64 {
	d, err := os.Open(dir)
	mustOK(t, err)
	defer d.Close()
	start, pairs := time.Now(), 0
	for time.Since(start) < dur {
		tmp, final := filepath.Join(dir, ".bound.tmp"), filepath.Join(dir, "bound.x")
		f, err := os.Create(tmp)
		mustOK(t, err)
		_, _ = f.Write(benchProvider(99999, 0))
		mustOK(t, f.Sync())
		mustOK(t, f.Close())
		mustOK(t, os.Rename(tmp, final))
		mustOK(t, d.Sync())
		mustOK(t, os.Remove(final))
		mustOK(t, d.Sync())
		pairs++
	}
	return float64(pairs) / time.Since(start).Seconds()
}

// spaceOut waits until the render throttle (one render per second per
// target) no longer holds the next render back.
func (d *benchDaemon) spaceOut() {
	if wait := time.Until(d.lastReload.Add(1100 * time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
}

// save writes the edited provider with marker m: atomic (temporary file
// renamed into place) or in place (truncate, two writes 2 ms apart as a
// slow writer, close).
func (d *benchDaemon) save(t *testing.T, kind string, m int) {
	body := benchProvider(0, m)
	if kind == "atomic" {
		tmp := filepath.Join(d.providers, ".lat-00000.yaml.tmp")
		mustOK(t, os.WriteFile(tmp, body, 0o600))
		mustOK(t, os.Rename(tmp, d.editedPath))
		return
	}
	f, err := os.OpenFile(d.editedPath, os.O_WRONLY|os.O_TRUNC, 0)
	mustOK(t, err)
	_, err = f.Write(body[:len(body)/2])
	mustOK(t, err)
	time.Sleep(2 * time.Millisecond)
	_, err = f.Write(body[len(body)/2:])
	mustOK(t, err)
	mustOK(t, f.Close())
}

// measure waits for the reload that shows the current marker and records
// its latency from start; reloads in between are checked too.
// oldest is the oldest marker a reload after start may show.
func (d *benchDaemon) measure(t *testing.T, start time.Time, oldest int, s *sample) {
	at, ok, bad := d.waitReload(t, start, d.marker, oldest, 15*time.Second)
	s.bad += bad
	if !ok {
		s.lost++
		return
	}
	s.lat = append(s.lat, at.Sub(start))
}

var markerRe = regexp.MustCompile(`[up]0-m(\d+)`)

// waitReload waits for a reload copy whose edited row carries marker m and
// returns when that reload started. Every new copy is checked: all rows
// present, one marker in the edited row, and a copy taken after start
// must not carry an older marker (stale).
func (d *benchDaemon) waitReload(t *testing.T, start time.Time, m, oldest int, timeout time.Duration) (time.Time, bool, int) {
	deadline, bad := time.Now().Add(timeout), 0
	for time.Now().Before(deadline) {
		entries, err := os.ReadDir(d.reloads)
		mustOK(t, err)
		for _, e := range entries {
			if d.seen[e.Name()] || !strings.HasPrefix(e.Name(), "r-") {
				continue // seen, or still being copied
			}
			d.seen[e.Name()] = true
			ns, _ := strconv.ParseInt(strings.TrimPrefix(e.Name(), "r-"), 10, 64)
			at := time.Unix(0, ns)
			if at.After(d.lastReload) {
				d.lastReload = at
			}
			data, err := os.ReadFile(filepath.Join(d.reloads, e.Name()))
			mustOK(t, err)
			_ = os.Remove(filepath.Join(d.reloads, e.Name()))
			got, ok := d.check(data)
			if !ok || at.After(start) && got < oldest {
				if os.Getenv("TRUNKD_BENCH_DEBUG") != "" {
					t.Logf("bad reload %s: marker %d ok %v want %d (oldest %d), start %s\n%s", e.Name(), got, ok, m, oldest, start.Format("15:04:05.000"), markerRe.FindAll(data, -1))
				}
				bad++
				continue
			}
			if got == m {
				return at, true, bad
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Time{}, false, bad
}

// check reports the marker of the edited row, and whether the file has
// every row and the edited row one marker only.
func (d *benchDaemon) check(data []byte) (int, bool) {
	rows := bytes.Count(data, []byte("\n")) - 1 // the header line
	ms := markerRe.FindAllSubmatch(data, -1)
	if rows != d.n || len(ms) < 2 {
		return -1, false
	}
	for _, x := range ms[1:] {
		if string(x[1]) != string(ms[0][1]) {
			return -1, false
		}
	}
	m, _ := strconv.Atoi(string(ms[0][1]))
	return m, true
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
