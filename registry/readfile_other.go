//go:build !unix

package registry

import "os"

// openNonBlocking opens path for reading; without O_NONBLOCK the checks
// before and after the open are the protection.
func openNonBlocking(path string) (*os.File, error) {
	return os.Open(path)
}
