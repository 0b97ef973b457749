package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/trunkd/trunkd/render"
)

// cmdFence runs every render target's fence action once (the engines stop
// registering) and exits: 0 when all succeeded, 1 when one failed, 2 on
// usage or config errors. Without a cluster: section there is nothing to
// fence (a single node's engine keeps registering while trunkd is away)
// and it exits 0. systemd runs it as ExecStopPost= (examples/systemd), so
// a trunkd that stopped or died never leaves its engine registering trunks
// another node is about to take over.
func cmdFence(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: trunkd fence --config FILE")
		return exitUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd fence:", err)
		return exitUsage
	}
	if cfg.Cluster == nil {
		fmt.Fprintf(stdout, "trunkd fence: %s has no cluster: section; nothing to fence\n", *cfgPath)
		return exitOK
	}
	r, err := render.New(cfg.Render, render.Options{ServerIndex: cfg.serverIndex(), Logger: newLogger(cfg.Log, stderr)})
	if err != nil {
		fmt.Fprintln(stderr, "trunkd fence:", err)
		return exitUsage
	}
	if err := r.Fence(ctx); err != nil {
		fmt.Fprintln(stderr, "trunkd fence:", err)
		return exitFailure
	}
	for _, t := range r.Status().Targets {
		if t.Fence != nil {
			fmt.Fprintf(stdout, "%s\tfenced\n", t.Name)
		} else {
			fmt.Fprintf(stdout, "%s\tno fence action\n", t.Name)
		}
	}
	return exitOK
}
