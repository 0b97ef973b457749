package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// gitCmd runs the git command-line tool for one working copy with an
// environment that makes it deterministic: no global or system config (an
// operator's commit.gpgsign or pull.rebase must not change what trunkd
// does), no prompts, C locale for the messages it parses, and the remote's
// credentials.
type gitCmd struct {
	dir   string
	cfg   Config
	extra []string // more environment, e.g. a commit's author
}

// commandTimeout bounds every git command.
const commandTimeout = time.Minute

// run runs git with args in the working copy and returns its standard
// output. The error carries git's standard error, which never holds a
// credential: the token travels in the environment, not in the URL.
func (g gitCmd) run(ctx context.Context, args ...string) (string, error) {
	out, errOut, err := g.runSplit(ctx, args...)
	if err != nil {
		return out, fmt.Errorf("git %s: %w: %s", verb(args), err, strings.TrimSpace(errOut))
	}
	return out, nil
}

// runSplit is run returning standard error apart, for callers that parse it.
func (g gitCmd) runSplit(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd, err := g.command(ctx, args)
	if err != nil {
		return "", "", err
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return o.String(), e.String(), err
}

// stream runs git and hands each \x1e-separated record of its standard
// output to fn until fn returns false, then stops the command (its exit
// status no longer counts).
func (g gitCmd) stream(ctx context.Context, fn func(rec string) bool, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd, err := g.command(ctx, args)
	if err != nil {
		return err
	}
	var e bytes.Buffer
	cmd.Stderr = &e
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git %s: %w", verb(args), err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	sc.Split(splitRecords)
	more := true
	for more && sc.Scan() {
		if rec := strings.TrimLeft(sc.Text(), "\n"); rec != "" {
			more = fn(rec)
		}
	}
	if !more {
		cancel()
		_ = cmd.Wait()
		return nil
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git %s: %w: %s", verb(args), err, strings.TrimSpace(e.String()))
	}
	return sc.Err()
}

// verb is the git command of args, after any -c NAME=VALUE options.
func verb(args []string) string {
	for len(args) > 2 && args[0] == "-c" {
		args = args[2:]
	}
	return args[0]
}

// splitRecords splits a stream at \x1e.
func splitRecords(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, 0x1e); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// command is git with args in the working copy, in the environment of
// every git command; only the commands that talk to the remote get its
// credentials, so that the token file is not read for every local command,
// and a token file gone missing cannot stop a reset of the working copy.
func (g gitCmd) command(ctx context.Context, args []string) (*exec.Cmd, error) {
	env := append(os.Environ(),
		"LC_ALL=C", "LANGUAGE=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_COMMITTER_NAME="+g.cfg.Committer.Name, "GIT_COMMITTER_EMAIL="+g.cfg.Committer.Email,
	)
	switch v := verb(args); {
	case v != "clone" && v != "fetch" && v != "push":
	case transport(g.cfg.Remote) == "ssh":
		env = append(env, "GIT_SSH_COMMAND="+sshCommand(g.cfg))
	case transport(g.cfg.Remote) == "https":
		header, err := tokenHeader(g.cfg)
		if err != nil {
			return nil, err
		}
		env = append(env, "GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+header)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = g.dir, append(env, g.extra...), time.Second
	return cmd, nil
}

// sshCommand is OpenSSH with the configured key and strict host-key
// checking against the configured known_hosts file only.
func sshCommand(c Config) string {
	return strings.Join([]string{"ssh",
		"-i", shellQuote(c.SSHKeyFile),
		"-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + shellQuote(c.KnownHostsFile),
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout=10",
	}, " ")
}

// tokenHeader reads the token file at every use, so that a rotated token is
// picked up without a restart.
func tokenHeader(c Config) (string, error) {
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("git.token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("git.token_file %s: empty", c.TokenFile)
	}
	cred := base64.StdEncoding.EncodeToString([]byte(c.TokenUser + ":" + tok))
	return "Authorization: Basic " + cred, nil
}

// shellQuote quotes s for the shell that git runs GIT_SSH_COMMAND with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
