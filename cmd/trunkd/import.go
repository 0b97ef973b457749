package main

import (
	"context"
	"fmt"
	"io"
)

func cmdImport(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "trunkd import: not built yet")
	return 2
}
