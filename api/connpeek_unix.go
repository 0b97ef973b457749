//go:build unix

package api

import (
	"crypto/tls"
	"net"
	"syscall"
)

// hasPendingInput reports whether bytes from the client wait in c's
// socket, unread: a client that sent its request, which the server has not
// got to yet. It looks without consuming (MSG_PEEK) and without blocking.
func hasPendingInput(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var n int
	var buf [1]byte
	_ = raw.Control(func(fd uintptr) {
		n, _, _ = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	})
	return n > 0
}
