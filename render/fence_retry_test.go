package render

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestFenceRetried: a fence_cmd that fails twice and then succeeds is
// retried in the background until it succeeds; each failed attempt is
// counted, and the status ends without an error, still fenced.
func TestFenceRetried(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "attempts")
	fence := `n=$(( $(cat ` + count + ` 2>/dev/null || echo 0) + 1 )); echo $n > ` + count + `; [ $n -ge 3 ] || { echo "engine not there ($n)"; exit 1; }`
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "uacreg", Template: "kamailio/uacreg",
		Output: filepath.Join(dir, "uacreg"), FenceCmd: fence, UnfenceCmd: "true"}}}, -1)
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
