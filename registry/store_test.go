package registry

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gopkg.in/yaml.v3"
)

func copyExample(t *testing.T, dir, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../examples/providers", name))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name), string(data))
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 27, 5, 0, 0, 123_456_789, time.UTC)
	r, err := Open(Options{Dir: dir, Logger: quietLogger(), Clock: ClockFunc(func() time.Time { return now })})
	if err != nil {
		t.Fatal(err)
	}
	p := Default()
	p.Code, p.Domain, p.Pwd = "Oktell", "test.oktell.ru", "s3cret"
	got, err := r.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != DeriveID("Oktell") || got.Ext.CT.String() != "2026-11-27T05:00:00.12Z" || got.Ext.LWT != got.Ext.CT {
		t.Errorf("created %+v", got)
	}
	if s, ok := r.Snapshot().ByID(got.ID); !ok || *s != *got {
		t.Fatal("the snapshot does not hold the provider when Create returns")
	}
	fi, err := os.Stat(filepath.Join(dir, "Oktell.yaml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "Oktell.yaml"))
	back, err := Parse("Oktell.yaml", data)
	if err != nil || back != *got {
		t.Errorf("file does not hold the provider: %v\n%s", err, data)
	}
	if _, err := r.Create(p); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate code: %v", err)
	}
	p.Code, p.ID = "other", got.ID
	if _, err := r.Create(p); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	p.ID, p.Transport = "", "sctp"
	var probs Problems
	if _, err := r.Create(p); !errors.As(err, &probs) || probs[0].Field != "transport" {
		t.Errorf("invalid provider: %v", err)
	}
}

// TestFileNames: a file name never escapes the directory, never hides
// itself and never collides.
func TestFileNames(t *testing.T) {
	taken := map[string]bool{"a.yaml": true}
	isTaken := func(n string) bool { return taken[n] }
	cases := map[string]string{
		"Oktell": "Oktell.yaml", "trunk-1.main": "trunk-1.main.yaml", "a": "a-2.yaml",
	}
	for code, want := range cases {
		if got := fileNameFor(code, isTaken); got != want {
			t.Errorf("fileNameFor(%q) = %q, want %q", code, got, want)
		}
	}
	for _, code := range []string{".hidden", "..", "a b", "Тест", "x:y", "..data", "~"} {
		got := fileNameFor(code, isTaken)
		if strings.HasPrefix(got, ".") || strings.ContainsAny(got, "/\\ ") || !IsProviderFile(got) {
			t.Errorf("fileNameFor(%q) = %q is unsafe", code, got)
		}
	}
	if fileNameFor("a b", isTaken) == fileNameFor("a_b", isTaken) {
		t.Error("a b and a_b collide")
	}
}

// TestUpdateKeepsFile: an update changes only the changed values; comments,
// key order and untouched values stay as written.
func TestUpdateKeepsFile(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir, "3528769.yaml")
	r := openDir(t, dir)
	before, _ := os.ReadFile(filepath.Join(dir, "3528769.yaml"))
	old, _ := r.Snapshot().ByCode("3528769")
	got, err := r.Update(old.ID, func(p *Provider) error {
		p.Expires, p.Opts.Title, p.PingSrv = 300, "Main: sipnet", "ping.sipnet.ru"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Ext.LWT.After(old.Ext.LWT.Time) || got.Ext.CT != old.Ext.CT {
		t.Errorf("ext: %+v -> %+v", old.Ext, got.Ext)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "3528769.yaml"))
	if c := comments(before); c != comments(after) {
		t.Errorf("comments changed:\n%s\n---\n%s", comments(before), comments(after))
	}
	if k := keys(t, before); k != keys(t, after) {
		t.Errorf("key order changed: %s -> %s", k, keys(t, after))
	}
	back, err := Parse("x.yaml", after)
	if err != nil {
		t.Fatal(err)
	}
	want := *old
	want.Expires, want.Opts.Title, want.PingSrv, want.Ext = 300, "Main: sipnet", "ping.sipnet.ru", got.Ext
	if back != want || *got != want {
		t.Errorf("file holds\n%+v\nwant\n%+v", back, want)
	}
}

func comments(data []byte) string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "# "); i >= 0 {
			out = append(out, strings.TrimSpace(line[i:]))
		}
	}
	return strings.Join(out, "\n")
}

func keys(t *testing.T, data []byte) string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var ks []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			ks = append(ks, prefix+n.Content[i].Value)
			if n.Content[i+1].Kind == yaml.MappingNode {
				walk(n.Content[i+1], prefix+n.Content[i].Value+".")
			}
		}
	}
	walk(doc.Content[0], "")
	return strings.Join(ks, ",")
}

func TestUpdateErrors(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir, "3528769.yaml")
	copyExample(t, dir, "Oktell.yaml")
	r := openDir(t, dir)
	p, _ := r.Snapshot().ByCode("3528769")
	path := filepath.Join(dir, "3528769.yaml")
	before, _ := os.ReadFile(path)
	var probs Problems
	if _, err := r.Update(p.ID, func(q *Provider) error { q.ID = DeriveID("x"); return nil }); !errors.As(err, &probs) ||
		probs[0].Error() != "id is prohibited for modification" {
		t.Errorf("id change: %v", err)
	}
	if _, err := r.Update(p.ID, func(q *Provider) error { q.Code = "Oktell"; return nil }); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate code: %v", err)
	}
	if _, err := r.Update(p.ID, func(q *Provider) error { q.PingTimeout = 0; return nil }); !errors.As(err, &probs) {
		t.Errorf("invalid value: %v", err)
	}
	precondition := errors.New("etag mismatch")
	if _, err := r.Update(p.ID, func(*Provider) error { return precondition }); !errors.Is(err, precondition) {
		t.Errorf("aborted update: %v", err)
	}
	if _, err := r.Update(DeriveID("nobody"), func(*Provider) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a failed update changed the file")
	}
	writeFile(t, path, "code: [broken\n")
	if _, err := r.Update(p.ID, func(q *Provider) error { q.Expires = 120; return nil }); !errors.Is(err, ErrConflict) {
		t.Errorf("update over a broken file: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != "code: [broken\n" {
		t.Error("update overwrote a file it could not parse")
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir, "Oktell.yaml")
	r := openDir(t, dir)
	p, _ := r.Snapshot().ByCode("Oktell")
	refuse := errors.New("no")
	if err := r.Delete(p.ID, func(*Provider) error { return refuse }); !errors.Is(err, refuse) {
		t.Errorf("check: %v", err)
	}
	if err := r.Delete(p.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Snapshot().ByID(p.ID); ok {
		t.Error("still in the snapshot")
	}
	if _, err := os.Stat(filepath.Join(dir, "Oktell.yaml")); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	if err := r.Delete(p.ID, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// TestConcurrentWrites: many goroutines writing at once lose no update.
func TestConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir, "Oktell.yaml")
	r := openDir(t, dir)
	startWatch(t, r)
	p, _ := r.Snapshot().ByCode("Oktell")
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := r.Update(p.ID, func(q *Provider) error { q.TrunksOut++; return nil })
			errs <- err
		}()
		go func() {
			defer wg.Done()
			q := Default()
			q.Code, q.Domain = fmt.Sprintf("new-%02d", i), "sip.example.net"
			_, err := r.Create(q)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := r.Snapshot().ByID(p.ID)
	if got.TrunksOut != p.TrunksOut+n || r.Snapshot().Len() != n+1 {
		t.Fatalf("trunksout %d (want %d), providers %d", got.TrunksOut, p.TrunksOut+n, r.Snapshot().Len())
	}
	data, _ := os.ReadFile(filepath.Join(dir, "Oktell.yaml"))
	if back, err := Parse("Oktell.yaml", data); err != nil || back.TrunksOut != p.TrunksOut+n {
		t.Fatalf("file: %v %d", err, back.TrunksOut)
	}
	fresh := openDir(t, dir)
	if fresh.Snapshot().Len() != n+1 {
		t.Errorf("a fresh load sees %d providers", fresh.Snapshot().Len())
	}
}

// TestOwnWriteNoFlap: after a write, the watcher's rescan of the same change
// publishes nothing new.
func TestOwnWriteNoFlap(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir, "Oktell.yaml")
	r := openDir(t, dir)
	startWatch(t, r)
	p, _ := r.Snapshot().ByCode("Oktell")
	reloads := testutil.ToFloat64(r.m.reloads.WithLabelValues("success"))
	if _, err := r.Update(p.ID, func(q *Provider) error { q.Expires = 120; return nil }); err != nil {
		t.Fatal(err)
	}
	gen := r.Snapshot().Generation()
	waitFor(t, "the watcher to rescan after the write", 5*time.Second, func() bool {
		return testutil.ToFloat64(r.m.reloads.WithLabelValues("success")) > reloads
	})
	if r.Snapshot().Generation() != gen {
		t.Errorf("the watcher published the API's own write again: generation %d -> %d", gen, r.Snapshot().Generation())
	}
}

// TestCrashBeforeRename kills a real process between the durable temporary
// file and the rename: the old file stays whole, the provider is not lost,
// and the leftover temporary file is cleaned up on the next start.
func TestCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir, "Oktell.yaml")
	before, _ := os.ReadFile(filepath.Join(dir, "Oktell.yaml"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "TRUNKD_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	ready := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "READY ") {
			ready = true
			break
		}
	}
	if !ready {
		cmd.Wait()
		t.Fatal("child never reached the crash window")
	}
	cmd.Process.Kill()
	cmd.Wait()
	temps, _ := filepath.Glob(filepath.Join(dir, ".Oktell.yaml"+tempMarker+"*"))
	if len(temps) != 1 {
		t.Fatalf("expected the interrupted write's temporary file, found %v", temps)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "Oktell.yaml")); string(after) != string(before) {
		t.Fatal("the crash tore the provider file")
	}
	// A fresh temporary file may be another process's write in flight
	// (the daemon, while `trunkd render --once` opens the directory): kept.
	r := openDir(t, dir)
	if p, ok := r.Snapshot().ByCode("Oktell"); !ok || p.Expires != 180 {
		t.Fatalf("provider lost or changed after the crash: %+v", p)
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, ".*"+tempMarker+"*")); len(kept) != 1 {
		t.Fatalf("a fresh temporary file was removed: %v", kept)
	}
	// Once it is older than any write takes, the next start removes it.
	old := time.Now().Add(-2 * staleTempAge)
	must(t, os.Chtimes(temps[0], old, old))
	openDir(t, dir)
	if temps, _ := filepath.Glob(filepath.Join(dir, ".*"+tempMarker+"*")); len(temps) != 0 {
		t.Errorf("stale temporary files not cleaned: %v", temps)
	}
}

// TestCrashChild is the process TestCrashBeforeRename kills.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("TRUNKD_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestCrashBeforeRename")
	}
	testHookBeforeRename = func(tmp string) {
		fmt.Println("READY", tmp)
		select {} // killed here
	}
	r := openDir(t, dir)
	p, _ := r.Snapshot().ByCode("Oktell")
	r.Update(p.ID, func(q *Provider) error { q.Expires = 3600; return nil })
}

// TestUpdateCodeOfFileWithoutID: a hand-written file has a derived id; when
// an update changes its code, the id is written so it survives a restart.
func TestUpdateCodeOfFileWithoutID(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "noid.yaml"), "# no id here\ncode: noid\ndomain: sip.example.net\n")
	r := openDir(t, dir)
	p, _ := r.Snapshot().ByCode("noid")
	if _, err := r.Update(p.ID, func(q *Provider) error { q.Expires = 120; return nil }); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "noid.yaml")); strings.Contains(string(data), "id:") {
		t.Errorf("an update that keeps the code wrote the derived id:\n%s", data)
	}
	if _, err := r.Update(p.ID, func(q *Provider) error { q.Code = "noid2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, ok := openDir(t, dir).Snapshot().ByID(p.ID); !ok || got.Code != "noid2" {
		t.Fatalf("after a restart the id %s is gone or wrong: %+v", p.ID, got)
	}
}
