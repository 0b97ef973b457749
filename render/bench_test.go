package render

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/templates"
)

// benchProviders writes n provider files of mixed shapes into dir.
func benchProviders(b testing.TB, dir string, n int) {
	b.Helper()
	for i := range n {
		code := fmt.Sprintf("trunk%05d", i)
		text := trunkYAML(code, fmt.Sprintf("pw:%d\\x", i), 300+i%600)
		switch i % 4 {
		case 1:
			text += "transport: tcp\nalternative_proxies: tcp:198.51.100.1:5060,tcp:198.51.100.2:5060\npingmode: options\n"
		case 2:
			text += "reg: 0\nextaddrs: 198.51.100.3,198.51.100.4\npingmode: rn\n"
		case 3:
			text += "transport: tls\npingmode: options\npingsrv: ping.example:5061\n"
		}
		writeFile(b, filepath.Join(dir, code+".yaml"), text)
	}
}

// BenchmarkRender10k executes each built-in template over 10,000 active
// trunks from scratch, as the first render after a start does (data
// selection and template execution, no file I/O; no trunk output is kept
// from an earlier round). The derived trunks are kept between rounds, as
// they are for every snapshot after the first in the daemon.
func BenchmarkRender10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	snap := openRegistry(b, dir).Snapshot()
	for _, name := range templates.Names() {
		b.Run(name, func(b *testing.B) {
			tg, err := newTarget(TargetConfig{Name: "bench", Template: name, Output: "unused"})
			if err != nil {
				b.Fatal(err)
			}
			var size int
			var outs trunkOutputs // as between two snapshots: unchanged providers are reused
			tg.outs = &outs
			for b.Loop() {
				outs.set = trunkSet{} // select the active trunks every round
				outs.forget(0)        // execute every trunk
				out, err := renderStrict(tg, tg.parsed, newData("bench", -1, nil, outs.get(snap, -1, nil)))
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/render")
			b.ReportMetric(float64(size), "bytes/file")
		})
	}
}

// BenchmarkDeriveTrunks10k derives the trunks of 10,000 providers from
// scratch, as the trunk outputs do for a first snapshot and would for
// every snapshot without it.
func BenchmarkDeriveTrunks10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	snap := openRegistry(b, dir).Snapshot()
	for b.Loop() {
		var outs trunkOutputs
		if set := outs.get(snap, -1, nil); len(set.trunks) != 10000 {
			b.Fatalf("%d trunks, want 10000", len(set.trunks))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/derive")
}

// BenchmarkRenderOneChange10k is the steady state of BenchmarkRender10k:
// one trunk of 10,000 changed since the last render (two snapshots that
// differ in one provider, rendered in turn), render only.
func BenchmarkRenderOneChange10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	reg := openRegistry(b, dir)
	snaps := [2]*registry.Snapshot{reg.Snapshot(), changeOne(b, reg, 1)}
	for _, name := range templates.Names() {
		b.Run(name, func(b *testing.B) {
			tg, err := newTarget(TargetConfig{Name: "bench", Template: name, Output: "unused"})
			if err != nil {
				b.Fatal(err)
			}
			var outs trunkOutputs
			tg.outs = &outs
			// The first render executes every trunk block: do it before
			// the loop, which measures the steady state.
			if _, err := renderStrict(tg, tg.parsed, newData("bench", -1, nil, outs.get(snaps[0], -1, nil))); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				i++
				if _, err := renderStrict(tg, tg.parsed, newData("bench", -1, nil, outs.get(snaps[i%2], -1, nil))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/render")
		})
	}
}

// changeOne changes trunk00000 through the registry's store, in a way
// every built-in template but kamailio/version writes (its proxy port),
// and returns the new snapshot.
func changeOne(b *testing.B, reg *registry.Registry, i int) *registry.Snapshot {
	b.Helper()
	prev, ok := reg.Snapshot().ByCode("trunk00000")
	if !ok {
		b.Fatal("trunk00000 missing")
	}
	if _, err := reg.Update(prev.ID, func(p *registry.Provider) error {
		if p.ProxyPort = benchPort(i); p.ProxyPort == prev.ProxyPort {
			p.ProxyPort++
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return reg.Snapshot()
}

// benchPort is the proxy port of the i-th change: never the one before.
func benchPort(i int) int { return 6000 + i%2000 }

// BenchmarkWriteToReload measures the time from writing a provider file to
// the reload command starting, through the real registry watcher (default
// 250 ms debounce) and a running renderer whose reload command writes to a
// FIFO, for kamailio/uacreg at 100, 1,000 and 10,000 providers. It reports
// the median, the 90th percentile and the maximum of at least 10 samples
// (ns/op is meaningless here and reported as 0).
func BenchmarkWriteToReload(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			benchProviders(b, dir, n)
			benchWriteToReload(b, dir, "kamailio/uacreg", 10)
		})
	}
}

// BenchmarkWriteToReload10k is BenchmarkWriteToReload at 10,000 providers
// for every built-in template that holds trunks, with 20 samples each.
func BenchmarkWriteToReload10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	for _, name := range templates.Names() {
		if name == "kamailio/version" {
			continue // holds no trunks: a provider edit changes nothing
		}
		b.Run(name, func(b *testing.B) { benchWriteToReload(b, dir, name, 20) })
	}
}

// BenchmarkWriteToReloadFailingTrunk10k is BenchmarkWriteToReload10k with
// one trunk the template fails for (an operator's copy of each built-in
// template whose trunk block fails for trunk00001): the edits of
// trunk00000 must reach the file and its reload as fast as without it.
func BenchmarkWriteToReloadFailingTrunk10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	for _, name := range templates.Names() {
		if name == "kamailio/version" {
			continue
		}
		text, _ := templates.Lookup(name)
		failing := regexp.MustCompile(`\{\{-? ?define "trunk" ?-?\}\}`).ReplaceAllStringFunc(text, func(def string) string {
			return def + `{{if eq .Code "trunk00001"}}{{index .Proxies 9}}{{end}}`
		})
		path := filepath.Join(b.TempDir(), "failing.tmpl")
		writeFile(b, path, failing)
		b.Run(name, func(b *testing.B) { benchWriteToReload(b, dir, path, 20) })
	}
}

// benchEdits counts the provider edits of the write-to-reload benchmarks,
// so that every edit changes the file (benchmarks run one at a time).
var benchEdits int

// reloadFIFO returns a reload command that writes a line to a FIFO in dir,
// and the channel of the times the lines arrived.
func reloadFIFO(b *testing.B, dir string) (string, <-chan time.Time) {
	b.Helper()
	fifo := filepath.Join(dir, "reload.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	// O_RDWR: opening never blocks and writers closing is no EOF.
	pipe, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pipe.Close() })
	started := make(chan time.Time, 16)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			started <- time.Now()
		}
	}()
	return "echo started > " + fifo, started
}

func benchWriteToReload(b *testing.B, dir, template string, minSamples int) {
	out := b.TempDir()
	reloadCmd, started := reloadFIFO(b, out)
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	r, err := New(Config{Targets: []TargetConfig{{Name: "bench", Template: template,
		Output: filepath.Join(out, "output"), ReloadCmd: reloadCmd}}}, Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := contextWithCancel(b)
	done := make(chan struct{}, 2)
	go func() { _ = reg.Watch(ctx); done <- struct{}{} }()
	go func() { _ = r.Run(ctx, subscribe(b, reg)); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()
	at := waitStarted(b, started, time.Minute) // the first snapshot writes the file

	samples := make([]time.Duration, 0, max(b.N, minSamples))
	var rendering []time.Duration // from the snapshot's publication on
	b.ResetTimer()
	for i := 0; i < max(b.N, minSamples); i++ {
		// Space the edits past the renderer's MinInterval (1 s), as single
		// edits are; edits within it are batched on purpose.
		b.StopTimer()
		time.Sleep(time.Until(at.Add(1100 * time.Millisecond)))
		b.StartTimer()
		benchEdits++
		// A new proxy port: every built-in template but kamailio/version writes it.
		text := strings.Replace(trunkYAML("trunk00000", "pw:0\\x", 1000+benchEdits%1000),
			"proxyport: 5090", fmt.Sprint("proxyport: ", benchPort(benchEdits)), 1)
		tmp := filepath.Join(dir, ".trunk00000.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := os.Rename(tmp, filepath.Join(dir, "trunk00000.yaml")); err != nil {
			b.Fatal(err)
		}
		at = waitStarted(b, started, 10*time.Second)
		samples = append(samples, at.Sub(t0))
		rendering = append(rendering, at.Sub(reg.Snapshot().Built()))
	}
	b.StopTimer()
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(samples[len(samples)/2]), "ms-p50")
	b.ReportMetric(ms(samples[len(samples)*9/10]), "ms-p90")
	b.ReportMetric(ms(samples[len(samples)-1]), "ms-max")
	slices.Sort(rendering)
	b.ReportMetric(ms(rendering[len(rendering)/2]), "ms-p50-after-snapshot")
	b.ReportMetric(ms(rendering[len(rendering)*9/10]), "ms-p90-after-snapshot")
	b.ReportMetric(0, "ns/op")
}

func waitStarted(b *testing.B, started <-chan time.Time, limit time.Duration) time.Time {
	b.Helper()
	select {
	case t := <-started:
		return t
	case <-time.After(limit):
		b.Fatalf("the reload command did not start within %s", limit)
		return time.Time{}
	}
}

// BenchmarkApplyOneChange10k measures the steady state of a running
// daemon: one trunk of 10,000 changed, the new snapshot rendered and
// applied (render, live file read and compared, drop guard, candidate
// written and fsynced, renamed into place; no reload command) per built-in
// template.
func BenchmarkApplyOneChange10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	reg := openRegistry(b, dir)
	for _, name := range templates.Names() {
		if name == "kamailio/version" {
			continue // holds no trunks: a change renders the same bytes
		}
		b.Run(name, func(b *testing.B) {
			output := filepath.Join(b.TempDir(), "out")
			r, err := New(Config{Targets: []TargetConfig{{Name: "bench", Template: name, Output: output}}},
				Options{ServerIndex: -1, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			if err := r.RenderOnce(b.Context(), reg.Snapshot()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				snap := changeOne(b, reg, i)
				b.StartTimer()
				if err := r.RenderOnce(b.Context(), snap); err != nil {
					b.Fatal(err)
				}
				if n := testutil.ToFloat64(r.m.changes.WithLabelValues("bench")); n != float64(i+2) {
					b.Fatalf("the change was not applied: %g changes after %d renders", n, i+2)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/apply")
		})
	}
}
