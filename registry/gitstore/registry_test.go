package gitstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// openRegistry runs the registry and its watcher on the working copy.
func openRegistry(t *testing.T, dir string) *registry.Registry {
	t.Helper()
	log, _ := testLogger(t, "registry")
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Watch(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return reg
}

// The registry on the working copy: a human push reaches the snapshot
// through Trigger and the watcher, and a bad commit keeps the last good
// version of the file, as a bad edit does.
func TestRegistryFollowsPushes(t *testing.T) {
	rem := newRemote(t)
	rem.write(t, "providers/a.yaml", "code: a\ndomain: a.example.org\n")
	rem.push(t, "valid a")
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(c *Config, _ *Options) { c.Poll = time.Hour })
	reg := openRegistry(t, r.Dir())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	rem.write(t, "providers/b.yaml", "code: b\ndomain: b.example.org\n")
	rem.push(t, "add b")
	r.Trigger()
	waitFor(t, "b in the snapshot", func() bool { _, ok := reg.Snapshot().ByCode("b"); return ok })

	rem.write(t, "providers/b.yaml", "code: b\ndomain: b.example.org\ntransport: carrier-pigeon\n")
	rem.push(t, "break b")
	r.Trigger()
	waitFor(t, "b reported invalid", func() bool { return len(reg.Snapshot().Invalid()) == 1 })
	if p, ok := reg.Snapshot().ByCode("b"); !ok || p.Transport != "udp" {
		t.Errorf("the last good b is gone: %+v", p)
	}
}

// A write through the registry inside Commit, with a human push of the
// same file at the same moment: the push is rejected, OnSync reloads the
// registry, the write is applied again on the human's version, and the
// remote keeps both changes.
func TestRegistryWriteReapplied(t *testing.T) {
	rem := newRemote(t)
	rem.write(t, "providers/a.yaml", "code: a\ndomain: a.example.org\n")
	rem.push(t, "valid a")
	var reg *registry.Registry
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(_ *Config, o *Options) {
		o.OnSync = func(string) {
			if reg != nil {
				if err := reg.Reload(); err != nil {
					t.Errorf("reload: %v", err)
				}
			}
		}
	})
	reg = openRegistry(t, r.Dir())
	p, ok := reg.Snapshot().ByCode("a")
	if !ok {
		t.Fatalf("a not loaded: %v", reg.Snapshot().Invalid())
	}
	calls := 0
	_, err := r.Commit(context.Background(), Signature{Name: "ops"}, func(context.Context) (Edit, error) {
		calls++
		if calls == 1 {
			rem.write(t, "providers/a.yaml", "code: a\ndomain: a.example.org\nexpires: 120 # human\n")
			rem.push(t, "human: expires")
		}
		_, err := reg.Update(p.ID, func(p *registry.Provider) error { p.Domain = "api.example.org"; return nil })
		return Edit{Message: "PATCH a: domain", Files: []string{reg.Snapshot().FileOf(p.ID)}}, err
	})
	if err != nil || calls != 2 {
		t.Fatalf("Commit = %v after %d applies", err, calls)
	}
	got := rem.show(t, "providers/a.yaml")
	if !strings.Contains(got, "domain: api.example.org") || !strings.Contains(got, "expires: 120 # human") {
		t.Errorf("remote a.yaml lost a change:\n%s", got)
	}
	if p, _ := reg.Snapshot().ByCode("a"); p.Expires != 120 || p.Domain != "api.example.org" {
		t.Errorf("snapshot: %+v", p)
	}
}
