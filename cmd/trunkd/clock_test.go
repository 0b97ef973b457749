package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/sops"
	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/sipcheck"
)

// fixedClock tells one time; its timers are real.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
func (c fixedClock) AfterFunc(d time.Duration, f func()) sipcheck.Timer {
	return time.AfterFunc(d, f)
}

// TestDaemonPassesItsClock: the daemon's one clock is the one the registry
// stamps files with and the renderer reports its renders by, and it
// satisfies every package's Clock interface.
func TestDaemonPassesItsClock(t *testing.T) {
	var (
		_ registry.Clock = sipcheck.RealClock{}
		_ render.Clock   = sipcheck.RealClock{}
		_ api.Clock      = sipcheck.RealClock{}
		_ sops.Clock     = sipcheck.RealClock{}
	)
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	dir := t.TempDir()
	d := &daemon{cfg: &config{Render: render.Config{Targets: []render.TargetConfig{{
		Name: "uacreg", Template: "kamailio/uacreg", Output: filepath.Join(dir, "uacreg"),
	}}}}, log: slog.New(slog.DiscardHandler), prom: prometheus.NewRegistry(),
		clock: fixedClock{at}, errs: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); d.wg.Wait() })

	reg, err := d.openRegistry(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.reg = reg
	p := registry.Default()
	p.Code, p.Domain, p.Pwd = "acme", "sip.acme.example", "acme-password-1"
	created, err := reg.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if !created.Ext.CT.Equal(at) || !created.Ext.LWT.Equal(at) {
		t.Errorf("the registry stamped %v/%v, want the daemon's clock %v", created.Ext.CT, created.Ext.LWT, at)
	}

	var o api.Options
	if err := startRender(ctx, d, &o); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := o.Status[0].(section).status().(render.Status).Targets[0]
		if st.LastSuccess != nil {
			if !st.LastSuccess.Equal(at) {
				t.Errorf("the renderer's last success is %v, want the daemon's clock %v", st.LastSuccess, at)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no render within 10 s: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDaemonClockStampsSopsFiles: the secrets codec the daemon builds
// stamps an encrypted write's lastmodified with the daemon's clock.
func TestDaemonClockStampsSopsFiles(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	d := &daemon{cfg: &config{Secrets: sops.Config{AgeRecipients: []string{id.Recipient().String()}}},
		log: slog.New(slog.DiscardHandler), prom: prometheus.NewRegistry(), clock: fixedClock{at}}
	_, secrets, err := d.apiOptions()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	reg, err := d.openRegistry(dir, secrets)
	if err != nil {
		t.Fatal(err)
	}
	p := registry.Default()
	p.Code, p.Domain, p.Pwd = "acme", "sip.acme.example", "acme-password-1"
	created, err := reg.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, reg.Snapshot().FileOf(created.ID)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "lastmodified: \"2001-02-03T04:05:06Z\"") {
		t.Errorf("the sops section is not stamped with the daemon's clock %v:\n%s", at, data)
	}
}
