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
// the table of issue 16 for every built-in engine template: edit → reload
// command started (p50/p90), bad renders, lost edits, a second save 20 ms
// after the first, API write → reload started (TestWriteThroughput has the
// POST+DELETE pairs/s). It takes minutes, so it runs only with
// TRUNKD_FIGURES=1 or TRUNKD_BENCH_LATENCY=1 (`make bench-latency`);
// TRUNKD_BENCH_EDITS sets the saves per kind and size (default 40),
// TRUNKD_BENCH_SIZES the provider counts (default 100,1000,10000; the API
// rows are measured at the largest), TRUNKD_BENCH_TEMPLATES the templates
// (default all four built-in ones, each in a daemon of its own: a daemon
// renders its targets one after the other, so with several targets the
// last one's latency includes the others' renders).
//
// Every provider registers. Each target's reload_cmd records `date +%s%N`
// and copies the live file, so each reload is checked for what the engine
// would have read: every trunk present (as often as in the first render),
// and the edited trunk from one save only: its marker is in the first and
// the last values of the file and in what each template shows of them
// (username/pwd, proxyaddr/pingsrv), so a partial read shows two markers
// or one. Saves are spaced beyond the render's one-render-per-second
// throttle, which the second-save rows then show. Bad renders and lost
// edits fail the test.
func TestLatencyTable(t *testing.T) {
	bin := benchBinary(t)
	edits := 40
	if v, err := strconv.Atoi(os.Getenv("TRUNKD_BENCH_EDITS")); err == nil && v > 0 {
		edits = v
	}
	templates := checkoutTemplates
	if v := os.Getenv("TRUNKD_BENCH_TEMPLATES"); v != "" {
		templates = strings.Split(v, ",")
	}
	table := []string{"template | providers | save | p50 ms | p90 ms | max ms | bad renders | lost"}
	sizes := benchSizes(t)
	for _, n := range sizes {
		for _, tmpl := range templates {
			d := startBenchDaemon(t, bin, n, []string{tmpl})
			for _, kind := range []string{"atomic", "in-place"} {
				table = d.rows(t, table, kind, d.saves(t, kind, edits))
			}
			table = d.rows(t, table, "2nd save +20 ms", d.secondEdits(t, max(edits/4, 5)))
			if n == sizes[len(sizes)-1] {
				table = d.rows(t, table, "API PATCH", d.apiWrites(t, max(edits/2, 10)))
			}
			d.stop(t)
		}
	}
	fmt.Println(strings.Join(table, "\n"))
}

// rows adds a row per target for one series and fails the test on bad
// renders or lost edits.
func (d *benchDaemon) rows(t *testing.T, table []string, series string, s []sample) []string {
	for i, tg := range d.targets {
		table = append(table, fmt.Sprintf("%s | %d | %s | %s | %d | %d", tg.template, d.n, series, s[i].percentiles(), s[i].bad, s[i].lost))
		if s[i].bad > 0 || s[i].lost > 0 {
			t.Errorf("%s, %d providers, %s: %d bad renders, %d lost edits", tg.template, d.n, series, s[i].bad, s[i].lost)
		}
	}
	return table
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
	base             string
	cmd              *exec.Cmd
	stderr           *bytes.Buffer
	marker           int
	targets          []*benchTarget
	editedPath, code string
}

// benchTarget is one render target of the bench daemon and the reload
// copies its reload_cmd leaves.
type benchTarget struct {
	template, reloads string
	seen              map[string]bool // reload copies already looked at
	lastReload        time.Time
	codes             int // occurrences of "lat-" in a complete render
}

const benchToken = "bench-writer-token"

func startBenchDaemon(t *testing.T, bin string, n int, templates []string) *benchDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &benchDaemon{n: n, providers: filepath.Join(dir, "providers"), code: "lat-00000"}
	mustOK(t, os.Mkdir(d.providers, 0o755))
	for i := 0; i < n; i++ {
		mustOK(t, os.WriteFile(filepath.Join(d.providers, fmt.Sprintf("lat-%05d.yaml", i)), benchProvider(i, 0), 0o600))
	}
	d.editedPath = filepath.Join(d.providers, "lat-00000.yaml")
	sum := sha256.Sum256([]byte(benchToken))
	mustOK(t, os.WriteFile(filepath.Join(dir, "tokens.yaml"), []byte("tokens:\n  - name: bench\n    role: writer\n    sha256: "+hex.EncodeToString(sum[:])+"\n"), 0o600))
	cfg := fmt.Sprintf("providers_dir: %s\nlisten: 127.0.0.1:0\nauth:\n  tokens_file: %s\nprobe:\n  enabled: false\nlog:\n  level: warn\nrender:\n  targets:\n",
		d.providers, filepath.Join(dir, "tokens.yaml"))
	for i, tmpl := range templates {
		tg := &benchTarget{template: tmpl, reloads: filepath.Join(dir, fmt.Sprintf("reloads%d", i)), seen: map[string]bool{}}
		mustOK(t, os.Mkdir(tg.reloads, 0o755))
		out := filepath.Join(dir, fmt.Sprintf("t%d.out", i))
		cfg += fmt.Sprintf("    - name: t%d\n      template: %s\n      output: %s\n"+
			"      reload_cmd: t=$(date +%%s%%N); cp %s %s/.c-$t && mv %[5]s/.c-$t %[5]s/r-$t\n", i, tmpl, out, out, tg.reloads)
		d.targets = append(d.targets, tg)
	}
	mustOK(t, os.WriteFile(filepath.Join(dir, "trunkd.yaml"), []byte(cfg), 0o600))
	d.start(t, bin, filepath.Join(dir, "trunkd.yaml"))
	// The first render of every target.
	for _, tg := range d.targets {
		if _, ok, _ := d.waitReload(t, tg, time.Now().Add(-time.Hour), 0, 0, 120*time.Second); !ok {
			t.Fatalf("%s: no first render", tg.template)
		}
	}
	return d
}

// start runs `trunkd serve` and waits for its listening address.
func (d *benchDaemon) start(t *testing.T, bin, config string) {
	d.cmd = exec.Command(bin, "serve", "--config", config)
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
// last value, and in two values each template shows (username and pwd for
// uacreg, pjsip and FreeSWITCH; proxyaddr and pingsrv for the dispatcher
// list), so a render of a partly written file shows two markers or one.
func benchProvider(i, m int) []byte {
	return fmt.Appendf(nil, `username: u%[1]d-m%[2]d
code: lat-%05[1]d
login: "%[1]d"
domain: sip%[1]d.example.net
proxyaddr: h%[1]d-m%[2]d.example.net
proxyport: 5060
transport: udp
reg: 1
expires: 600
lic:
  siptrunks: 5
trunksout: 3
opts:
  title: Trunk %[1]d with a title long enough to make the file a realistic size
pingsrv: q%[1]d-m%[2]d.example.net
pwd: p%[1]d-m%[2]d
`, i, m)
}

// sample is the outcome of a series of edits at one target.
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
func (d *benchDaemon) saves(t *testing.T, kind string, count int) []sample {
	s := make([]sample, len(d.targets))
	for i := 0; i < count; i++ {
		d.spaceOut()
		d.marker++
		d.save(t, kind, d.marker)
		d.measure(t, time.Now(), d.marker, s)
	}
	return s
}

// secondEdits saves twice, 20 ms apart; the second must reach a reload.
// The time runs from the second save.
func (d *benchDaemon) secondEdits(t *testing.T, count int) []sample {
	s := make([]sample, len(d.targets))
	for i := 0; i < count; i++ {
		d.spaceOut()
		d.marker++
		d.save(t, "in-place", d.marker)
		time.Sleep(20 * time.Millisecond) // the gap under test
		d.marker++
		d.save(t, "atomic", d.marker)
		d.measure(t, time.Now(), d.marker-1, s)
	}
	return s
}

// apiWrites PATCHes the edited provider; the time runs from the request.
func (d *benchDaemon) apiWrites(t *testing.T, count int) []sample {
	s := make([]sample, len(d.targets))
	id := registry.DeriveID(d.code)
	for i := 0; i < count; i++ {
		d.spaceOut()
		d.marker++
		m := d.marker
		body := fmt.Sprintf(`{"username":"u0-m%d","proxyaddr":"h0-m%d.example.net","pingsrv":"q0-m%d.example.net","pwd":"p0-m%d"}`, m, m, m, m)
		start := time.Now()
		if code := d.call(t, http.MethodPatch, "/rest/v1/uc/providers/"+id, body, nil); code != http.StatusOK {
			t.Fatalf("PATCH: status %d", code)
		}
		d.measure(t, start, d.marker, s)
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
// target) no longer holds the next render of any target back.
func (d *benchDaemon) spaceOut() {
	for _, tg := range d.targets {
		if wait := time.Until(tg.lastReload.Add(1100 * time.Millisecond)); wait > 0 {
			time.Sleep(wait)
		}
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

// measure waits, at every target, for the reload that shows the current
// marker and records its latency from start; reloads in between are
// checked too. oldest is the oldest marker a reload after start may show.
func (d *benchDaemon) measure(t *testing.T, start time.Time, oldest int, s []sample) {
	for i, tg := range d.targets {
		at, ok, bad := d.waitReload(t, tg, start, d.marker, oldest, 15*time.Second)
		s[i].bad += bad
		if !ok {
			s[i].lost++
			continue
		}
		s[i].lat = append(s[i].lat, at.Sub(start))
	}
}

var markerRe = regexp.MustCompile(`[uhqp]0-m(\d+)`)

// waitReload waits for a reload copy of tg whose edited trunk carries
// marker m and returns when that reload started. Every new copy is
// checked: all trunks present, one marker in the edited trunk, and a copy
// taken after start must not carry an older marker (stale). m 0 takes the
// first render.
func (d *benchDaemon) waitReload(t *testing.T, tg *benchTarget, start time.Time, m, oldest int, timeout time.Duration) (time.Time, bool, int) {
	deadline, bad := time.Now().Add(timeout), 0
	for time.Now().Before(deadline) {
		entries, err := os.ReadDir(tg.reloads)
		mustOK(t, err)
		for _, e := range entries {
			if tg.seen[e.Name()] || !strings.HasPrefix(e.Name(), "r-") {
				continue // seen, or still being copied
			}
			tg.seen[e.Name()] = true
			ns, _ := strconv.ParseInt(strings.TrimPrefix(e.Name(), "r-"), 10, 64)
			at := time.Unix(0, ns)
			if at.After(tg.lastReload) {
				tg.lastReload = at
			}
			data, err := os.ReadFile(filepath.Join(tg.reloads, e.Name()))
			mustOK(t, err)
			_ = os.Remove(filepath.Join(tg.reloads, e.Name()))
			got, ok := d.check(tg, data)
			if !ok || at.After(start) && got < oldest {
				t.Logf("%s: bad reload %s: marker %d complete %v, want %d (oldest %d), start %s; markers %q",
					tg.template, e.Name(), got, ok, m, oldest, start.Format("15:04:05.000"), markerRe.FindAll(data, -1))
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

// check reports the marker of the edited trunk in a reload copy of tg,
// and whether the copy has every trunk (the first copy sets how often the
// codes appear) and the edited trunk from one save only.
func (d *benchDaemon) check(tg *benchTarget, data []byte) (int, bool) {
	codes := bytes.Count(data, []byte("lat-"))
	if tg.codes == 0 && codes >= d.n && codes%d.n == 0 {
		tg.codes = codes
	}
	ms := markerRe.FindAllSubmatch(data, -1)
	if codes != tg.codes || len(ms) < 2 {
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
