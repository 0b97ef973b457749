package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeProviders fills dir with n provider files shaped like the seed's.
func writeProviders(tb testing.TB, dir string, n int) {
	tb.Helper()
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`# trunk %[1]d
code: trunk-%05[1]d
username: user%[1]d
login: "%[1]d"
pwd: secret-%[1]d
domain: sip%[1]d.example.net
proxyaddr: 10.%[2]d.%[3]d.1
proxyport: 5060
transport: udp
alternative_proxies: udp:10.%[2]d.%[3]d.2:5060,udp:10.%[2]d.%[3]d.3:5060
extaddrs: 10.%[2]d.%[3]d.2,10.%[2]d.%[3]d.3
serveridx: %[4]d
expires: 600
pingmode: options
pingtimeout: 10
lic:
  siptrunks: 5
trunksout: 3
opts:
  title: Trunk %[1]d
`, i, i/250, i%250, i%4)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("trunk-%05d.yaml", i)), []byte(body), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BenchmarkColdLoad10k measures Open on 10,000 provider files up to the
// first snapshot (target: under 0.8 s on 2 cores).
func BenchmarkColdLoad10k(b *testing.B) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Open(Options{Dir: dir, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		if r.Snapshot().Len() != 10000 {
			b.Fatalf("loaded %d providers", r.Snapshot().Len())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
}

// BenchmarkOneChangeOf10k measures what follows the debounce window when
// one file of 10,000 changed, up to the published snapshot (target: under
// 20 ms): the watcher's usual path, a rescan of the file the events named.
func BenchmarkOneChangeOf10k(b *testing.B) {
	benchOneChange(b, func(r *Registry, name string) error {
		_, err := r.rescan(scope{names: []string{name}})
		return err
	})
}

// BenchmarkOneChangeFullRescan10k is the same change found by a rescan of
// the whole directory (events that name no provider file, e.g. a ConfigMap swap).
func BenchmarkOneChangeFullRescan10k(b *testing.B) {
	benchOneChange(b, func(r *Registry, _ string) error {
		_, err := r.rescan(scope{})
		return err
	})
}

func benchOneChange(b *testing.B, reload func(r *Registry, name string) error) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	r, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	const name = "trunk-04242.yaml"
	path := filepath.Join(dir, name)
	orig, _ := os.ReadFile(path)
	var worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		body := append(append([]byte{}, orig...), fmt.Sprintf("trunksout: %d\n", i%1000+10)...)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			b.Fatal(err)
		}
		gen := r.Snapshot().Generation()
		b.StartTimer()
		start := time.Now()
		if err := reload(r, name); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
		if r.Snapshot().Generation() != gen+1 {
			b.Fatal("no new snapshot")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/change")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// BenchmarkWatchLatency10k measures a file write to the published snapshot
// through the real watcher, debounce window (250 ms) included.
func BenchmarkWatchLatency10k(b *testing.B) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	r, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Watch(ctx) }()
	waitWatching(b, r, dir)
	sub := r.Subscribe()
	defer sub.Close()
	path := filepath.Join(dir, "trunk-00042.yaml")
	orig, _ := os.ReadFile(path)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gen := r.Snapshot().Generation()
		start := time.Now()
		if err := os.WriteFile(path, append(append([]byte{}, orig...), fmt.Sprintf("trunksout: %d\n", i+10)...), 0o600); err != nil {
			b.Fatal(err)
		}
		for s := range sub.C() {
			if s.Generation() > gen {
				break
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms/write-to-snapshot")
	}
	cancel()
	<-done
}

// BenchmarkMemoryPerProvider reports the heap that a loaded provider costs
// (snapshot, indexes and file state), measured over 10,000 providers.
func BenchmarkMemoryPerProvider(b *testing.B) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := Open(Options{Dir: dir, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10000, "bytes/provider")
		runtime.KeepAlive(r)
	}
}

// BenchmarkCreateDelete10k measures an API-style create and delete among
// 10,000 providers, fsyncs included: the store's write path.
func BenchmarkCreateDelete10k(b *testing.B) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	r, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := Default()
		p.Code, p.Domain = fmt.Sprintf("bench-%d", i), "sip.example.net"
		got, err := r.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Delete(got.ID, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/pair")
}

// BenchmarkCreateDelete10kParallel is BenchmarkCreateDelete10k with 16
// writers at once (-cpu sets GOMAXPROCS; 16 goroutines per P would be too
// many on a large machine, so the writers are fixed at 16): their writes
// are committed in groups (groupcommit.go).
func BenchmarkCreateDelete10kParallel(b *testing.B) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	r, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	const writers = 16
	var next atomic.Int64
	cpu0, gen0 := cpuTime(b), r.Snapshot().Generation()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				p := Default()
				p.Code, p.Domain = fmt.Sprintf("bench-%d", i), "sip.example.net"
				got, err := r.Create(p)
				if err == nil {
					err = r.Delete(got.ID, nil)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/pair")
	b.ReportMetric(float64(2*b.N)/float64(r.Snapshot().Generation()-gen0), "writes/snapshot")
}

// BenchmarkIdleBackstop10k measures the watcher's periodic backstop rescan
// of 10,000 unchanged files (stat each, read none), in CPU seconds of the
// process (target: under 0.1 CPU-s).
func BenchmarkIdleBackstop10k(b *testing.B) {
	dir := b.TempDir()
	writeProviders(b, dir, 10000)
	r, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	gen := r.Snapshot().Generation()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.rescan(scope{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if r.Snapshot().Generation() != gen {
		b.Fatal("an idle rescan published a snapshot")
	}
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/rescan")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
