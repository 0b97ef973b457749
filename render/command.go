package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// outputLimit is how much of a command's output is kept (the end of it).
const outputLimit = 64 << 10

// runCommand runs script with sh -c, args as $1..., env added to the
// daemon's environment, killing the whole process group when timeout
// passes or ctx ends. It returns the combined output (its last 64 KiB).
func runCommand(ctx context.Context, script string, timeout time.Duration, env []string, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, "/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out := &tailBuffer{max: outputLimit}
	cmd.Stdout, cmd.Stderr = out, out
	setProcessGroup(cmd)
	// A background child that keeps the output open must not hold us.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return out.String(), fmt.Errorf("stopped: %w", ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		return out.String(), fmt.Errorf("timed out after %s", timeout)
	case errors.Is(err, exec.ErrWaitDelay):
		return out.String(), nil // exited 0; a child kept the output open
	case err != nil:
		return out.String(), err
	}
	return out.String(), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
	cut bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.cut = true
	}
	return n, nil
}

// String returns the kept output. When the start was cut, the partial
// first line is dropped too: a password cut in half there would escape
// masking, which matches whole passwords only.
func (b *tailBuffer) String() string {
	if !b.cut {
		return string(b.buf)
	}
	if i := bytes.IndexByte(b.buf, '\n'); i >= 0 {
		return "…" + string(b.buf[i+1:])
	}
	return "…"
}

// tail returns the last n bytes of s (on a UTF-8 boundary), marked with
// "…" when cut.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	return "…" + s[i:]
}
