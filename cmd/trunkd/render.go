package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trunkd/trunkd/api"
)

// startRender starts the render targets of cfg.Render (placeholder until
// the render package lands).
func startRender(_ context.Context, _ *daemon, _ *api.Options) error { return nil }

func cmdRender(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "trunkd render: not built yet")
	return 2
}
