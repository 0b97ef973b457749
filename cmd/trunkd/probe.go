package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck"
)

// startProbe starts the SIP prober of cfg.Probe on the registry's
// snapshots and registers it as a status and state source.
func startProbe(ctx context.Context, d *daemon, o *api.Options) error {
	if !d.cfg.Probe.Enabled {
		d.log.Info("probe disabled by config")
		return nil
	}
	po := sipcheck.Options{
		ServerIndex: d.cfg.serverIndex(),
		Logger:      d.log,
		Registerer:  d.prom,
		UserAgent:   "trunkd/" + version,
		Clock:       d.clock,
	}
	if m := d.member; m != nil {
		po.Ownership = m.probe
	}
	pr, err := sipcheck.New(d.cfg.Probe, po)
	if err != nil {
		return err
	}
	if d.member != nil {
		d.member.pr = pr
	}
	sub := d.reg.Subscribe()
	d.goRun("probe", func() error {
		defer sub.Close()
		return pr.Run(ctx, sub.C())
	})
	o.Status = append(o.Status, section{"probe", func() any { return pr.Summary() }})
	o.Prober = proberView{pr}
	return nil
}

// cmdProbe runs one registration check and one ping for a trunk and prints
// the SIP exchange; it exits 1 when the check fails, 2 on usage errors.
func cmdProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *cfgPath == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: trunkd probe --config FILE CODE")
		return exitUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd probe:", err)
		return exitUsage
	}
	p, err := probeTrunk(cfg.ProvidersDir, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "trunkd probe:", err)
		return exitUsage
	}
	if !p.Active(cfg.serverIndex()) {
		fmt.Fprintf(stdout, "note: trunk %s is not active on this server (enabled %d, serveridx %d); probing anyway\n\n",
			p.Code, p.Enabled, p.ServerIdx)
	}
	rep, err := sipcheck.CheckOnce(ctx, cfg.Probe, p, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd probe:", err)
		if errors.Is(err, context.Canceled) {
			return exitFailure
		}
		return exitUsage
	}
	if !rep.OK {
		return exitFailure
	}
	return exitOK
}

// probeTrunk finds the valid provider with the given code or id in dir.
func probeTrunk(dir, codeOrID string) (*registry.Provider, error) {
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	snap := reg.Snapshot()
	p, ok := snap.ByCode(codeOrID)
	if !ok {
		p, ok = snap.ByID(codeOrID)
	}
	if !ok {
		return nil, fmt.Errorf("no valid provider with code or id %q in %s", codeOrID, dir)
	}
	return p, nil
}
