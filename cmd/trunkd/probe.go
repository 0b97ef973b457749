package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trunkd/trunkd/api"
)

// startProbe starts the SIP prober (placeholder until sipcheck lands).
func startProbe(_ context.Context, _ *daemon, _ *api.Options) error { return nil }

func cmdProbe(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "trunkd probe: not built yet")
	return 2
}
