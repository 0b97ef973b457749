package registry

import (
	"path/filepath"
	"testing"
	"time"
)

// TestSubscribeLatestWins: a subscriber gets the current snapshot at once;
// one that does not read meanwhile gets only the latest, never a stale one.
func TestSubscribeLatestWins(t *testing.T) {
	dir := t.TempDir()
	r := openDir(t, dir)
	sub := r.Subscribe()
	defer sub.Close()
	if s := <-sub.C(); s.Generation() != 1 {
		t.Fatalf("first delivery: generation %d", s.Generation())
	}
	for i := 0; i < 5; i++ {
		writeFile(t, filepath.Join(dir, "p.yaml"), "code: p\ndomain: sip.example.net\ntrunksout: "+itoa(i)+"\n")
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case s := <-sub.C():
		if s != r.Snapshot() {
			t.Errorf("got generation %d, latest is %d", s.Generation(), r.Snapshot().Generation())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	select {
	case s := <-sub.C():
		t.Errorf("a second, stale delivery: generation %d", s.Generation())
	default:
	}
	sub.Close()
	writeFile(t, filepath.Join(dir, "q.yaml"), "code: q\ndomain: sip.example.net\n")
	_ = r.Reload() // must not block on the closed subscription
}
