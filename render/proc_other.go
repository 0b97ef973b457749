//go:build !unix

package render

import (
	"os"
	"os/exec"
)

// setProcessGroup is a no-op where process groups do not exist: the
// command itself is killed on timeout.
func setProcessGroup(*exec.Cmd) {}

// copyOwner is a no-op where file ownership is not numeric.
func copyOwner(string, os.FileInfo) error { return nil }
