package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/render"
)

// startRender builds the renderer of cfg.Render, runs it on every registry
// snapshot and reports it in /status and to the drop-confirm endpoint. A
// config without targets renders nothing.
func startRender(ctx context.Context, d *daemon, o *api.Options) error {
	if len(d.cfg.Render.Targets) == 0 {
		return nil
	}
	ro := render.Options{
		ServerIndex: d.cfg.serverIndex(),
		Logger:      d.log,
		Registerer:  d.prom,
		Clock:       d.clock,
	}
	if m := d.member; m != nil {
		ro.Ownership = m.render
	}
	r, err := render.New(d.cfg.Render, ro)
	if err != nil {
		return err
	}
	if d.member != nil {
		d.member.r = r
	}
	sub := d.reg.Subscribe()
	d.goRun("render", func() error {
		defer sub.Close()
		return r.Run(ctx, sub.C())
	})
	o.Status = append(o.Status, section{"render", func() any { return r.Status() }})
	o.Render = renderView{r}
	o.Confirm = renderConfirm{r}
	return nil
}

// cmdRender renders every target once from the providers directory and
// exits: 0 when all targets are in place, 1 on an invalid provider file or
// a failed or held-back target, 2 on usage or config errors. It refuses to
// render while a provider file is invalid: in a CI pipeline a missing trunk
// must fail the build, not ship.
func cmdRender(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, ok := renderArgs(args, stderr)
	if !ok {
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	r, err := render.New(cfg.Render, render.Options{ServerIndex: cfg.serverIndex(), Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "trunkd render:", err)
		return exitUsage
	}
	reg, err := registry.Open(registry.Options{Dir: cfg.ProvidersDir, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "trunkd render:", err)
		return exitFailure
	}
	snap := reg.Snapshot()
	if invalid := snap.Invalid(); len(invalid) > 0 {
		for _, f := range invalid {
			for _, p := range f.Problems {
				fmt.Fprintln(stderr, p.Error())
			}
		}
		fmt.Fprintf(stderr, "trunkd render: %d invalid provider files; nothing rendered\n", len(invalid))
		return exitFailure
	}
	renderErr := r.RenderOnce(ctx, snap)
	for _, t := range r.Status().Targets {
		fmt.Fprintf(stdout, "%s\t%s\t%d trunks\t%s\n", t.Name, t.State, t.Trunks, t.Output)
	}
	if renderErr != nil {
		fmt.Fprintln(stderr, "trunkd render:", renderErr)
		return exitFailure
	}
	return exitOK
}

// renderArgs parses render's command line and loads the config it names,
// with the command line's overrides applied; false (after saying why on
// stderr) on a usage or config error.
func renderArgs(args []string, stderr io.Writer) (*config, bool) {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	once := fs.Bool("once", false, "render all targets once and exit (required)")
	providers := fs.String("providers", "", "override the config's providers_dir")
	confirmDrop := fs.Bool("confirm-drop", false, "apply renders that the drop guard would hold back")
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	if *cfgPath == "" || !*once || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: trunkd render --config FILE --once [--providers DIR] [--confirm-drop]")
		return nil, false
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd render:", err)
		return nil, false
	}
	if *providers != "" {
		cfg.ProvidersDir = *providers
	}
	if len(cfg.Render.Targets) == 0 {
		fmt.Fprintf(stderr, "trunkd render: %s has no render.targets\n", *cfgPath)
		return nil, false
	}
	if cfg.Cluster != nil {
		fmt.Fprintf(stderr, "trunkd render: %s has a cluster: section: which trunks this node registers depends on the cluster's owners, "+
			"and a one-off render would register every trunk here; run the daemon, or check the templates with a config without cluster:\n", *cfgPath)
		return nil, false
	}
	cfg.Render.ConfirmDrop = cfg.Render.ConfirmDrop || *confirmDrop
	return cfg, true
}
