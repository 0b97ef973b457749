package main

import (
	"context"
	"fmt"
	"io"
)

func cmdFakeProvider(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "trunkd fakeprovider: not built yet")
	return 2
}
