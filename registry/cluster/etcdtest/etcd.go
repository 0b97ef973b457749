// Package etcdtest starts real etcd members on loopback for tests and puts a
// TCP proxy the test controls in front of them.
//
// Start runs an n-member cluster of the etcd binary on PATH (Debian's
// etcd-server) with data directories under t.TempDir(), free loopback ports
// (picked by listening on 127.0.0.1:0 and closing), stops every member in
// t.Cleanup and prints the members' logs when the test failed. Without the
// binary the test is skipped, or fails when CI is set. StartTLS serves
// clients over https with a fresh CA and requires client certificates. The members run with
// a 50 ms heartbeat and a 500 ms election timeout (etcd's defaults are 100
// and 1000): on loopback that is ample, and a leader's kill costs about a
// second of unavailability instead of two, inside the fence budget of a
// node with the default 3 s lease (see registry/cluster's package doc). Proxy forwards,
// drops or blackholes the traffic of one client (see proxy.go).
package etcdtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Cluster is a running set of etcd members.
type Cluster struct {
	Members []*Member
	// TLS holds the CA and certificates of a cluster from StartTLS; its
	// members serve https and require a client certificate.
	TLS TLSFiles
	t   testing.TB
	tls *tls.Config // the test's own clients' (nil: plain http)
}

// Member is one etcd process.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:port
	PeerURL   string
	dir       string
	args      []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
	logf *os.File
}

// startTimeout bounds how long Start waits for a writable cluster.
const startTimeout = 60 * time.Second

// Start runs an n-member etcd cluster and waits until it accepts writes.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, false)
}

// StartTLS is Start with members that serve clients over https and require
// a client certificate signed by the cluster's CA (Cluster.TLS).
func StartTLS(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, true)
}

// startAttempts bounds the tries of a cluster start: a free port picked by
// listening and closing may be taken by another process before etcd binds
// it, and that member exits at once.
const startAttempts = 3

func start(t testing.TB, n int, withTLS bool) *Cluster {
	bin := etcdBinary(t)
	c := &Cluster{t: t}
	if withTLS {
		c.TLS = newTLSFiles(t, t.TempDir())
		c.tls = c.TLS.clientTLS(t)
	}
	// The members' directories (and logs) must outlive stop, which prints
	// the logs of a failed test: cleanups run last registered first.
	base := t.TempDir()
	t.Cleanup(func() { c.stop() })
	for attempt := 1; ; attempt++ {
		c.Members = newMembers(t, bin, n, c.TLS, filepath.Join(base, fmt.Sprintf("attempt%d", attempt)))
		err := c.startMembers()
		if err == nil {
			return c
		}
		if attempt == startAttempts {
			t.Fatalf("etcdtest: cluster of %d: %v\n%s", n, err, c.Logs())
		}
		t.Logf("etcdtest: cluster of %d, attempt %d: %v; again on other ports", n, attempt, err)
		c.stop()
	}
}

// newMembers lays out n members on fresh ports and directories below dir;
// with files (a CA) they serve clients over https.
func newMembers(t testing.TB, bin string, n int, files TLSFiles, dir string) []*Member {
	scheme := "http"
	if files.CA != "" {
		scheme = "https"
	}
	ports := freePorts(t, 2*n)
	var members []*Member
	var initial []string
	for i := 0; i < n; i++ {
		m := &Member{Name: fmt.Sprintf("m%d", i),
			ClientURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[2*i]),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			dir:       filepath.Join(dir, fmt.Sprintf("m%d", i))}
		initial = append(initial, m.Name+"="+m.PeerURL)
		members = append(members, m)
	}
	for _, m := range members {
		m.args = []string{bin, "--name", m.Name, "--data-dir", filepath.Join(m.dir, "data"),
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "etcdtest", "--logger", "zap", "--log-outputs", "stderr",
			"--heartbeat-interval", "50", "--election-timeout", "500"}
		if files.CA != "" {
			m.args = append(m.args, "--cert-file", files.ServerCert, "--key-file", files.ServerKey,
				"--trusted-ca-file", files.CA, "--client-cert-auth")
		}
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return members
}

// startMembers starts every member and waits until the cluster accepts
// writes with all of them running.
func (c *Cluster) startMembers() error {
	for _, m := range c.Members {
		if err := m.Start(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.WaitWritable(ctx); err != nil {
		return fmt.Errorf("not writable: %w", err)
	}
	for _, m := range c.Members {
		if !m.Running() {
			return fmt.Errorf("member %s exited (its port taken?)", m.Name)
		}
	}
	return nil
}

// etcdBinary finds etcd on PATH; without it the test is skipped (failed in CI).
func etcdBinary(t testing.TB) string {
	bin, err := exec.LookPath("etcd")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("etcdtest: etcd not on PATH (apt-get install etcd-server): %v", err)
	}
	t.Skipf("etcdtest: etcd not on PATH (apt-get install etcd-server)")
	return ""
}

// freePorts picks n distinct free loopback ports.
func freePorts(t testing.TB, n int) []int {
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Client opens a client on every member; it is closed in t.Cleanup.
func (c *Cluster) Client() *clientv3.Client {
	cl, err := c.newClient(5 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

func (c *Cluster) newClient(dial time.Duration) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: dial, TLS: c.tls, Logger: zap.NewNop()})
}

// WaitWritable returns once a put through any running member succeeds.
func (c *Cluster) WaitWritable(ctx context.Context) error {
	cl, err := c.newClient(2 * time.Second)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := cl.Put(pctx, "/etcdtest/ready", "1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Leader returns the member that is leader now.
func (c *Cluster) Leader(ctx context.Context) (*Member, error) {
	cl, err := c.newClient(2 * time.Second)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for _, m := range c.Members {
		if !m.Running() {
			continue
		}
		st, err := cl.Status(ctx, m.ClientURL)
		if err != nil {
			continue
		}
		if st.Leader != 0 && st.Leader == st.Header.MemberId {
			return m, nil
		}
	}
	return nil, fmt.Errorf("etcdtest: no member reports itself leader")
}

// Logs returns every member's log, each under its name.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, m := range c.Members {
		data, _ := os.ReadFile(m.logPath())
		fmt.Fprintf(&b, "----- etcd %s (%s) log -----\n%s\n", m.Name, m.ClientURL, data)
	}
	return b.String()
}

// stop kills every member and prints the logs if the test failed.
func (c *Cluster) stop() {
	for _, m := range c.Members {
		m.Kill()
	}
	if c.t.Failed() {
		c.t.Log(c.Logs())
	}
}

func (m *Member) logPath() string { return filepath.Join(m.dir, "etcd.log") }

// Start (re)starts the member's process on its data directory; its log is
// appended to.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("member %s already running", m.Name)
	}
	logf, err := os.OpenFile(m.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.args[0], m.args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start etcd member %s: %w", m.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	m.cmd, m.done, m.logf = cmd, done, logf
	return nil
}

// Kill sends SIGKILL to the member and waits until it is gone.
func (m *Member) Kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.done
	m.logf.Close()
	m.cmd, m.done, m.logf = nil, nil, nil
}

// Running reports whether the member's process runs.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}
