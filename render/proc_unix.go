//go:build unix

package render

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the command in its own process group and makes a
// cancel kill the whole group, so a shell's children die with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// copyOwner gives path the owner and group of the file described by fi
// when the daemon runs as root (the engine may read as another user).
func copyOwner(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Chown(path, int(st.Uid), int(st.Gid))
}
