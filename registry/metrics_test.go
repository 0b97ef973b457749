package registry

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestOpenRegistersMetricsOnce: a failed Open leaves nothing registered, so
// the next Open on the same registerer works; a second registry on it gets
// an error, not a panic.
func TestOpenRegistersMetricsOnce(t *testing.T) {
	prom := prometheus.NewRegistry()
	if _, err := Open(Options{Dir: filepath.Join(t.TempDir(), "missing"), Logger: quietLogger(), Registerer: prom}); err == nil {
		t.Fatal("Open of a missing directory succeeded")
	}
	dir := t.TempDir()
	if _, err := Open(Options{Dir: dir, Logger: quietLogger(), Registerer: prom}); err != nil {
		t.Fatalf("Open after a failed one: %v", err)
	}
	if _, err := Open(Options{Dir: dir, Logger: quietLogger(), Registerer: prom}); err == nil {
		t.Error("a second registry on the same registerer must fail")
	}
	mfs, err := prom.Gather()
	if err != nil || len(mfs) == 0 {
		t.Errorf("gather: %d families, %v", len(mfs), err)
	}
}
