package render

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/templates"
)

// benchProviders writes n provider files of mixed shapes into dir.
func benchProviders(b *testing.B, dir string, n int) {
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
// trunks (data selection and template execution, no file I/O). After the
// first round the derived trunks come from the cache, as they do for every
// snapshot after the first in the daemon.
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
			var cache trunkCache // as between two snapshots: unchanged providers are reused
			for b.Loop() {
				cache.last = trunkSet{} // select the active trunks every round
				out, err := execute(tg.parsed, newData("bench", -1, nil, cache.get(snap, -1)))
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

// BenchmarkWriteToReload measures the time from writing a provider file to
// the reload command starting, through the real registry watcher (default
// 250 ms debounce) and a running renderer whose reload command writes to a
// FIFO. It reports the median and the maximum of at least 10 samples
// (ns/op is meaningless here and reported as 0).
func BenchmarkWriteToReload(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) { benchWriteToReload(b, n) })
	}
}

func benchWriteToReload(b *testing.B, providers int) {
	dir, out := b.TempDir(), b.TempDir()
	benchProviders(b, dir, providers)
	fifo := filepath.Join(out, "reload.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	// O_RDWR: opening never blocks and writers closing is no EOF.
	pipe, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer pipe.Close()
	started := make(chan time.Time, 16)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			started <- time.Now()
		}
	}()
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	r, err := New(Config{Targets: []TargetConfig{{Name: "uacreg", Template: "kamailio/uacreg",
		Output: filepath.Join(out, "uacreg"), ReloadCmd: "echo started > " + fifo}}}, Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := contextWithCancel(b)
	done := make(chan struct{}, 2)
	go func() { _ = reg.Watch(ctx); done <- struct{}{} }()
	go func() { _ = r.Run(ctx, reg); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()
	at := waitStarted(b, started) // the first snapshot writes the file

	samples := make([]time.Duration, 0, max(b.N, 10))
	b.ResetTimer()
	for i := 0; i < max(b.N, 10); i++ {
		// Space the edits past the renderer's MinInterval (1 s), as single
		// edits are; edits within it are batched on purpose.
		b.StopTimer()
		time.Sleep(time.Until(at.Add(1100 * time.Millisecond)))
		b.StartTimer()
		text := trunkYAML("trunk00000", "pw:0\\x", 1000+i)
		tmp := filepath.Join(dir, ".trunk00000.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := os.Rename(tmp, filepath.Join(dir, "trunk00000.yaml")); err != nil {
			b.Fatal(err)
		}
		at = waitStarted(b, started)
		samples = append(samples, at.Sub(t0))
	}
	b.StopTimer()
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(samples[len(samples)/2]), "ms-p50")
	b.ReportMetric(ms(samples[len(samples)-1]), "ms-max")
	b.ReportMetric(0, "ns/op")
}

func waitStarted(b *testing.B, started <-chan time.Time) time.Time {
	b.Helper()
	select {
	case t := <-started:
		return t
	case <-time.After(10 * time.Second):
		b.Fatal("the reload command did not start within 10 s")
		return time.Time{}
	}
}
