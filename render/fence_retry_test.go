package render

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// runRenderer runs r (no snapshots) until the returned stop is called or
// the test ends; stop returns when Run did.
func runRenderer(t *testing.T, r *Renderer) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, nil) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return stop
}

// TestFenceRetried: a fence_cmd that fails twice and then succeeds is
// retried on Run's goroutines until it succeeds; each failed attempt is
// counted, and the status ends without an error, still fenced.
func TestFenceRetried(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "attempts")
	fence := `n=$(( $(cat ` + count + ` 2>/dev/null || echo 0) + 1 )); echo $n > ` + count + `; [ $n -ge 3 ] || { echo "engine not there ($n)"; exit 1; }`
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "uacreg", Template: "kamailio/uacreg",
		Output: filepath.Join(dir, "uacreg"), FenceCmd: fence, UnfenceCmd: "true"}}}, -1)
	runRenderer(t, r)
	start := time.Now()
	err := r.Fence(t.Context())
	if err == nil || !strings.Contains(err.Error(), "uacreg: fence_cmd") {
		t.Fatalf("first attempt: %v, want the fence_cmd's failure", err)
	}
	waitFor(t, 20*time.Second, "the third attempt to succeed", func() bool {
		st := targetStatus(t, r, "uacreg").Fence
		return strings.TrimSpace(readFileOr(count)) == "3" && st != nil && st.Error == ""
	})
	took := time.Since(start)
	if took < fenceRetryMin+2*fenceRetryMin {
		t.Fatalf("three attempts within %v: the backoff is %v then %v", took, fenceRetryMin, 2*fenceRetryMin)
	}
	if n := testutil.ToFloat64(r.m.fenceFailures.WithLabelValues("uacreg", ActionFence)); n != 2 {
		t.Fatalf("trunkd_render_fence_failures_total{action=fence} = %v, want 2", n)
	}
	if st := targetStatus(t, r, "uacreg").Fence; !st.Fenced || st.Action != ActionFence {
		t.Fatalf("fence status %+v", st)
	}
	t.Logf("fenced after 3 attempts, %v after the first (loaded machine)", took.Round(time.Millisecond))
}

// TestFenceRetriesEndWithRun: the retries of a fence_cmd that keeps
// failing belong to Run, not to the context given to Fence (which never
// ends here): once Run returned no retry goroutine is left, and a fence
// that failed before Run started is retried once it runs.
func TestFenceRetriesEndWithRun(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "attempts")
	fence := `n=$(( $(cat ` + count + ` 2>/dev/null || echo 0) + 1 )); echo $n > ` + count + `; exit 1`
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "uacreg", Template: "kamailio/uacreg",
		Output: filepath.Join(dir, "uacreg"), FenceCmd: fence, UnfenceCmd: "true"}}}, -1)
	if err := r.Fence(context.Background()); err == nil {
		t.Fatal("the fence_cmd failed, Fence returned nil")
	}
	if n := queued(r); n != 1 || retrying() {
		t.Fatalf("before Run: %d retries wait for Run, retrying %v; want 1 waiting and none running (nobody would stop it)", n, retrying())
	}
	stop := runRenderer(t, r)
	waitFor(t, 20*time.Second, "a retry under Run", func() bool {
		n, _ := strconv.Atoi(strings.TrimSpace(readFileOr(count)))
		return n >= 2
	})
	stop()
	if retrying() {
		t.Fatal("a fence retry goroutine outlived Run")
	}
	if err := r.Fence(context.Background()); err == nil || queued(r) != 1 || retrying() {
		t.Fatalf("Fence after Run returned: %v, %d retries wait for Run, retrying %v; want the failure, 1 waiting and no retry",
			err, queued(r), retrying())
	}
}

// queued is the number of failed fence commands whose retry waits for
// Run. A retry goroutine that was started but not yet scheduled does not
// show in retrying's stacks; it is no longer queued.
func queued(r *Renderer) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.retries.want)
}

// retrying reports whether a goroutine is inside retryFence.
func retrying() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "render.(*Renderer).retryFence(")
}
