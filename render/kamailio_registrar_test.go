package render

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kamRegistrar is a second Kamailio acting as the provider's digest
// registrar (auth_db over a db_text subscriber table, usrloc in memory).
// Its log has one line per REGISTER it received (registrar.cfg), from
// which the tests count per trunk.
type kamRegistrar struct {
	dir, sock, logPath, kamcmd string
	port                       int
	users                      []credential // the subscriber table's rows
	tableMtime                 time.Time    // the subscriber file's last mtime
	// lines and offset cache what registers has parsed of the log.
	lines  []registerLine
	offset int64
}

// credential is one subscriber of the registrar.
type credential struct{ user, password string }

// registerLine is one REGISTER as the registrar logged it.
type registerLine struct {
	user, expires, src, callID, cseq string
	auth                             bool // an Authorization header came
	reply                            int  // 200, 401, 403 or 500
}

// registrarRealm is the realm the registrar challenges with and the
// domain the tests' providers register at.
const registrarRealm = "sipp.test"

// startKamRegistrar writes the registrar's config and subscriber table
// into a directory of the test, starts it on a free loopback port and
// waits for its RPC socket. Its log is printed when the test fails.
func startKamRegistrar(t *testing.T, kamailio, kamcmd string, users []credential) *kamRegistrar {
	t.Helper()
	dir := t.TempDir()
	g := &kamRegistrar{dir: dir, sock: filepath.Join(dir, "run", "ctl"), logPath: filepath.Join(dir, "registrar.log"),
		kamcmd: kamcmd, port: freeUDPPort(t, "127.0.0.1")}
	db := filepath.Join(dir, "db")
	for _, d := range []string{db, filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(db, "version"), "id(int,auto) table_name(string) table_version(int) \n1:version:1\n2:subscriber:7\n")
	g.users = slices.Clone(users)
	g.writeSubscribers(t)
	cfg := strings.NewReplacer("@SIP_PORT@", strconv.Itoa(g.port), "@CTLSOCK@", g.sock, "@DBDIR@", db,
		"@REALM@", registrarRealm).Replace(readFile(t, filepath.Join("testdata", "kamailio", "registrar.cfg")))
	cfgPath := filepath.Join(dir, "registrar.cfg")
	writeFile(t, cfgPath, cfg)
	run := filepath.Join(dir, "run")
	cmd := exec.Command(kamailio, "-f", cfgPath, "-P", filepath.Join(run, "kamailio.pid"), "-Y", run, "-w", run, "-E", "-DD")
	startOwned(t, cmd, dir, g.logPath)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("registrar (Kamailio) log tail:\n%s", tail(readFileOr(g.logPath), 4000))
		}
	})
	waitFor(t, 10*time.Second, "the registrar's RPC socket", func() bool {
		_, err := g.rpc("core.uptime")
		return err == nil
	})
	return g
}

// writeSubscribers writes the subscriber table from g.users with an mtime
// past the previous one in whole seconds (db_text, db_mode 1, re-reads a
// table whose st_mtime grew when auth_db next asks for it).
func (g *kamRegistrar) writeSubscribers(t *testing.T) {
	t.Helper()
	var sub strings.Builder
	sub.WriteString("id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n")
	for i, u := range g.users {
		fmt.Fprintf(&sub, "%d:%s:%s:%s:::\n", i+1, escapeDBText(u.user), registrarRealm, escapeDBText(u.password))
	}
	path := filepath.Join(g.dir, "db", "subscriber")
	tmp := path + ".tmp"
	writeFile(t, tmp, sub.String())
	g.tableMtime = g.tableMtime.Add(time.Second)
	if now := time.Now().Truncate(time.Second); now.After(g.tableMtime) {
		g.tableMtime = now
	}
	if err := os.Chtimes(tmp, g.tableMtime, g.tableMtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// setPassword changes user's password in the subscriber table: from then
// on the registrar refuses the old one (403).
func (g *kamRegistrar) setPassword(t *testing.T, user, password string) {
	t.Helper()
	i := slices.IndexFunc(g.users, func(c credential) bool { return c.user == user })
	if i < 0 {
		t.Fatalf("registrar has no subscriber %s", user)
	}
	g.users[i].password = password
	g.writeSubscribers(t)
}

// rpc runs kamcmd against the registrar.
func (g *kamRegistrar) rpc(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, g.kamcmd, append([]string{"-s", "unix:" + g.sock}, args...)...).CombinedOutput()
	if err == nil && strings.HasPrefix(string(out), "error:") {
		err = fmt.Errorf("%s", strings.TrimSpace(string(out)))
	}
	return string(out), err
}

// registers returns every REGISTER the registrar logged so far, in
// order; it reads only what the log gained since the last call (not safe
// for concurrent use). A retransmission is logged again with the same
// Call-ID and CSeq: count counts requests, not retransmissions.
func (g *kamRegistrar) registers() []registerLine {
	f, err := os.Open(g.logPath)
	if err != nil {
		return g.lines
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, g.offset, 1<<40))
	if err != nil {
		return g.lines
	}
	end := strings.LastIndexByte(string(data), '\n') + 1 // whole lines only
	g.offset += int64(end)
	for _, line := range strings.Split(string(data[:end]), "\n") {
		if _, rest, ok := strings.Cut(line, "REGISTER user="); ok {
			g.lines = append(g.lines, parseRegisterLine("user="+rest))
		}
	}
	return g.lines
}

// parseRegisterLine parses the key=value fields registrar.cfg logs.
func parseRegisterLine(s string) registerLine {
	var r registerLine
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "user":
			r.user = v
		case "auth":
			r.auth = v == "yes"
		case "expires":
			r.expires = v
		case "src":
			r.src = v
		case "callid":
			r.callID = v
		case "cseq":
			r.cseq = v
		case "reply":
			r.reply, _ = strconv.Atoi(v)
		}
	}
	return r
}

// count counts the distinct REGISTER requests (Call-ID and CSeq) among
// lines that match.
func count(lines []registerLine, match func(registerLine) bool) int {
	seen := map[string]bool{}
	for _, r := range lines {
		if match(r) {
			seen[r.callID+" "+r.cseq] = true
		}
	}
	return len(seen)
}

// accepted matches an authenticated REGISTER of user that got a 200
// (expires "" = any, else exactly that Expires header).
func accepted(user, expires string) func(registerLine) bool {
	return func(r registerLine) bool {
		return r.user == user && r.auth && r.reply == 200 && (expires == "" || r.expires == expires)
	}
}

// registeredUsers counts the users with at least one accepted REGISTER.
func registeredUsers(lines []registerLine) int {
	seen := map[string]bool{}
	for _, r := range lines {
		if r.auth && r.reply == 200 {
			seen[r.user] = true
		}
	}
	return len(seen)
}

// bindings counts the AoRs usrloc holds in its location table (a
// statistic: ul.dump of 1,000 AoRs overflows kamcmd's reply buffer).
func (g *kamRegistrar) bindings(t *testing.T) int {
	t.Helper()
	out, err := g.rpc("stats.get_statistics", "location_users")
	if err != nil {
		t.Fatalf("registrar statistics: %v", err)
	}
	_, v, _ := strings.Cut(out, "= ")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		t.Fatalf("registrar statistics: %q", out)
	}
	return n
}

// bound reports whether usrloc holds a binding of user (ul.lookup).
func (g *kamRegistrar) bound(t *testing.T, user string) bool {
	t.Helper()
	out, err := g.rpc("ul.lookup", "location", user)
	if err != nil && !strings.Contains(out, "AOR not found") {
		t.Fatalf("registrar ul.lookup %s: %v", user, err)
	}
	return err == nil
}
