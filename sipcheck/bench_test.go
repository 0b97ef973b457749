package sipcheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// responderEnv makes the test binary a fake provider process (TestMain).
const responderEnv = "SIPCHECK_BENCH_RESPONDER"

func TestMain(m *testing.M) {
	if addr := os.Getenv(responderEnv); addr != "" {
		os.Exit(runResponder(addr))
	}
	os.Exit(m.Run())
}

// runResponder serves a fake provider on addr, prints "addr HOST:PORT",
// and when stdin closes prints "options N" and exits.
func runResponder(addr string) int {
	fp, err := fakeprovider.New(fakeprovider.Config{})
	if err == nil {
		err = fp.Listen(addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fp.Serve(ctx) }()
	fmt.Printf("addr %s\n", fp.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	<-done
	fmt.Printf("options %d\n", fp.Stats().Options)
	return 0
}

// responder is a fake provider in a child process.
type responder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	addr  string
}

func startResponder(tb testing.TB) *responder {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), responderEnv+"=127.0.0.1:0", "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r := &responder{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	if !r.out.Scan() || !strings.HasPrefix(r.out.Text(), "addr ") {
		tb.Fatalf("responder did not start: %q", r.out.Text())
	}
	r.addr = strings.TrimPrefix(r.out.Text(), "addr ")
	return r
}

// stop ends the responder and returns how many OPTIONS it answered.
func (r *responder) stop(tb testing.TB) int64 {
	tb.Helper()
	r.stdin.Close()
	var n int64
	for r.out.Scan() {
		if v, ok := strings.CutPrefix(r.out.Text(), "options "); ok {
			n, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	_ = r.cmd.Wait()
	return n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatusKB reads a field such as VmRSS or VmHWM of /proc/self/status.
func procStatusKB(field string) float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n
		}
	}
	return 0
}

func benchDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("SIPCHECK_BENCH_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 60 * time.Second
}

// BenchmarkProber10kTrunks: 10,000 trunks ping OPTIONS every 10 s (1,000/s)
// against a fake provider in another process for 60 s
// (SIPCHECK_BENCH_SECONDS), then a bare sipgo loop sends the same OPTIONS
// at the same rate to a fresh responder. Reports process CPU seconds per
// 1,000 pings for both, their ratio and the prober's RSS.
func BenchmarkProber10kTrunks(b *testing.B) {
	const trunks, interval = 10000, 10
	dur := benchDuration()
	for range b.N {
		pr := measureProber(b, trunks, interval, dur)
		bare := measureBareLoop(b, trunks/interval, dur)
		b.ReportMetric(pr.cpuPerK, "cpu-s/1k-pings")
		b.ReportMetric(bare.cpuPerK, "bare-cpu-s/1k-pings")
		b.ReportMetric(pr.cpuPerK/bare.cpuPerK, "cpu-ratio")
		b.ReportMetric(pr.rssMB, "rss-MB")
		b.ReportMetric(pr.peakMB, "peak-rss-MB")
		b.ReportMetric(float64(pr.pings), "pings")
		b.Logf("prober: %d trunks, %d pings in %s, %d answered, responder saw %d; %.4f CPU s per 1,000 pings; RSS %.1f MB (peak %.1f MB)",
			trunks, pr.pings, dur, pr.answered, pr.seen, pr.cpuPerK, pr.rssMB, pr.peakMB)
		b.Logf("bare sipgo loop: %d pings, %d answered, responder saw %d; %.4f CPU s per 1,000 pings; ratio %.2f",
			bare.pings, bare.answered, bare.seen, bare.cpuPerK, pr.cpuPerK/bare.cpuPerK)
		if pr.answered != pr.pings || bare.answered != bare.pings {
			b.Errorf("unanswered pings: prober %d of %d, bare %d of %d", pr.pings-pr.answered, pr.pings, bare.pings-bare.answered, bare.pings)
		}
		if want := int64(dur.Seconds()) * trunks / interval; pr.pings < want*97/100 {
			b.Errorf("prober sent %d pings in %s, want about %d", pr.pings, dur, want)
		}
		if pr.seen < pr.answered || pr.seen > pr.answered+100 {
			b.Errorf("responder answered %d OPTIONS, the prober counted %d", pr.seen, pr.answered)
		}
		if pr.cpuPerK > 2*bare.cpuPerK {
			b.Errorf("prober CPU per ping is %.2fx the bare loop, target <= 2x", pr.cpuPerK/bare.cpuPerK)
		}
		if pr.peakMB >= 300 {
			b.Errorf("RSS peak %.1f MB, target < 300 MB", pr.peakMB)
		}
	}
}

type benchResult struct {
	pings, answered, seen int64
	cpuPerK               float64
	rssMB, peakMB         float64
}

func measureProber(b *testing.B, trunks, interval int, dur time.Duration) benchResult {
	resp := startResponder(b)
	dir := b.TempDir()
	for i := 0; i < trunks; i++ {
		code := fmt.Sprintf("bench-%05d", i)
		data := fmt.Sprintf("code: %s\nreg: 0\nusername: u%d\ndomain: bench.trunkd.test\nproxyaddr: %s\nproxyport: %s\n"+
			"pingmode: options\npingtimeout: %d\n", code, i, strings.Split(resp.addr, ":")[0], strings.Split(resp.addr, ":")[1], interval)
		if err := os.WriteFile(filepath.Join(dir, code+".yaml"), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	prom := prometheus.NewRegistry()
	pr, err := New(Config{MaxNewPerSecond: trunks / interval}, Options{ServerIndex: registry.AnyServer, Logger: testLogger(b), Registerer: prom})
	if err != nil {
		b.Fatal(err)
	}
	sub := reg.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	cpu0 := cpuTime()
	go func() { defer close(done); _ = pr.Run(ctx, sub.C()) }()
	time.Sleep(dur) // the measured window: the prober runs on its own
	rss, peak := procStatusKB("VmRSS")/1024, procStatusKB("VmHWM")/1024
	cancel()
	<-done
	cpu := cpuTime() - cpu0
	sub.Close()
	var res benchResult
	mfs, _ := prom.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "trunkd_sip_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := int64(m.GetCounter().GetValue())
			res.pings += v
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "200" {
					res.answered += v
				}
			}
		}
	}
	res.seen = resp.stop(b)
	res.cpuPerK = cpu.Seconds() / float64(res.pings) * 1000
	res.rssMB, res.peakMB = rss, peak
	return res
}

// measureBareLoop sends rate OPTIONS per second with a plain sipgo client
// on one UA, each in its own goroutine with the same 2 s deadline.
func measureBareLoop(b *testing.B, rate int, dur time.Duration) benchResult {
	resp := startResponder(b)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("bare"))
	if err != nil {
		b.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr("127.0.0.1:0"))
	if err != nil {
		b.Fatal(err)
	}
	host, portText, _ := strings.Cut(resp.addr, ":")
	port, _ := strconv.Atoi(portText)
	var sent, answered atomic.Int64
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	tick := time.NewTicker(10 * time.Millisecond)
	end := time.Now().Add(dur)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		for i := 0; i < rate/100; i++ {
			wg.Add(1)
			sent.Add(1)
			go func() {
				defer wg.Done()
				req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
				from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u", Host: "bench.trunkd.test"}, Params: sip.NewParams()}
				from.Params.Add("tag", sip.GenerateTagN(16))
				req.AppendHeader(from)
				req.AppendHeader(&sip.ToHeader{Address: req.Recipient})
				req.AppendHeader(sip.NewHeader("User-Agent", "bare"))
				req.SetTransport("UDP")
				req.SetDestination(resp.addr)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if res, err := client.Do(ctx, req); err == nil && res.StatusCode == 200 {
					answered.Add(1)
				}
			}()
		}
	}
	tick.Stop()
	wg.Wait()
	cpu := cpuTime() - cpu0
	res := benchResult{pings: sent.Load(), answered: answered.Load()}
	res.seen = resp.stop(b)
	res.cpuPerK = cpu.Seconds() / float64(res.pings) * 1000
	return res
}
