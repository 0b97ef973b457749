// Command trunkd keeps SIP trunk accounts as code: a directory of provider
// YAML files, the providers REST API, the SIP engines' trunk configuration
// and a live SIP health check of every trunk, all in step.
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
