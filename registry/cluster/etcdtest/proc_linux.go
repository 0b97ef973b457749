package etcdtest

import "syscall"

// procAttr kills a member when the test binary dies without cleanup (a
// panic or a -timeout).
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
