// Command trunkd keeps SIP trunk accounts as code: a directory of provider
// YAML files, the providers REST API, the SIP engines' trunk configuration
// and a live SIP health check of every trunk, all in step.
//
// File layout: main.go runs run.go's command table, each subcommand lives
// in the file of its name and reports with version.go's exit codes. serve.go
// is the hub of `trunkd serve`: the daemon struct every component is wired
// through, and the start-up steps that call each component's file
// (git.go, cluster.go, demo.go, render.go, probe.go, reload.go), which use
// the daemon's fields: those six file pairs refer both ways by design, as
// do config.go and clusterconfig.go (the config type and its cluster
// section's checks). No other two files use each other.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
