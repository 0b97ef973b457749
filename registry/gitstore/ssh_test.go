package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// requireSSHD finds OpenSSH's sshd and its privilege-separation directory
// (the package's service creates it at start; a test machine that never
// started the service has none).
func requireSSHD(t *testing.T) string {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (apt-get install openssh-server)", what)
		}
		t.Skip(what)
	}
	if _, err := os.Stat(sshd); err != nil {
		missing("sshd not installed")
	}
	if _, err := os.Stat("/run/sshd"); err != nil {
		if os.Geteuid() != 0 {
			missing("no /run/sshd for sshd's privilege separation")
		}
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return sshd
}

// sshKey makes an ed25519 key pair with the real ssh-keygen.
func sshKey(t *testing.T, path string) (pub string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// An ssh remote (the real sshd, one `sshd -i` per connection on a loopback
// ephemeral port): clone and push with ssh_key_file and known_hosts_file;
// a host key that is not in known_hosts is refused (ErrUnavailable).
func TestSSHRemoteWithKnownHosts(t *testing.T) {
	sshd := requireSSHD(t)
	rem := newRemote(t)
	dir := t.TempDir()
	hostPub := sshKey(t, filepath.Join(dir, "host"))
	userPub := sshKey(t, filepath.Join(dir, "user"))
	writeTestFile(t, filepath.Join(dir, "authorized_keys"), userPub+"\n")
	writeTestFile(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`HostKey %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PidFile none
LogLevel VERBOSE
`, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys")))
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	d := startInetd(t, "ssh://"+me.Username+"@", func() *exec.Cmd {
		return exec.Command(sshd, "-i", "-e", "-f", filepath.Join(dir, "sshd_config"))
	})
	hostPort := strings.Replace(d.ln.Addr().String(), "127.0.0.1:", "[127.0.0.1]:", 1)
	knownHosts := filepath.Join(dir, "known_hosts")
	writeTestFile(t, knownHosts, hostPort+" "+hostPub+"\n")
	withSSH := func(kh string) func(*Config, *Options) {
		return func(c *Config, _ *Options) { c.SSHKeyFile, c.KnownHostsFile = filepath.Join(dir, "user"), kh }
	}

	r, _ := openRepo(t, d.url(rem.bare), filepath.Join(t.TempDir(), "wc"), withSSH(knownHosts))
	sha, err := r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "b.yaml", "code: b\n", "create b"))
	if err != nil || rem.head(t) != sha {
		t.Fatalf("Commit over ssh = %s, %v (remote at %s)", sha, err, rem.head(t))
	}

	otherPub := sshKey(t, filepath.Join(dir, "other"))
	wrong := filepath.Join(dir, "known_hosts_wrong")
	writeTestFile(t, wrong, hostPort+" "+otherPub+"\n")
	cfg := Config{Remote: d.url(rem.bare), Workdir: filepath.Join(t.TempDir(), "wc2")}
	withSSH(wrong)(&cfg, nil)
	_, err = Open(context.Background(), cfg, Options{})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Host key verification failed") {
		t.Errorf("Open with a wrong host key = %v, want ErrUnavailable naming the host key", err)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
