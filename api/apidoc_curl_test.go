package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// curlCommand is the example as a curl command line for a POSIX shell,
// with the token (and ETag) read from shell variables.
func curlCommand(base string, ex *docExample) string {
	u := base + ex.path
	var args []string
	safe := true
	for _, q := range ex.spec.Query {
		safe = safe && url.QueryEscape(q[0]) == q[0] && url.QueryEscape(q[1]) == q[1]
	}
	switch {
	case len(ex.spec.Query) == 0:
	case safe:
		var kv []string
		for _, q := range ex.spec.Query {
			kv = append(kv, q[0]+"="+q[1])
		}
		u += "?" + strings.Join(kv, "&")
	default:
		args = append(args, "-G")
		for _, q := range ex.spec.Query {
			args = append(args, "--data-urlencode "+shellQuote(q[0]+"="+q[1]))
		}
	}
	first := "curl -i"
	if ex.method != http.MethodGet || ex.body != "" {
		first += " -X " + ex.method
	}
	first += " " + shellWord(u)
	if rt, ok := roleTokens[ex.Role]; ok {
		args = append(args, `-H "Authorization: Bearer $`+rt.envVar+`"`)
	}
	for _, h := range ex.spec.Header {
		if strings.Contains(h[1], "$") {
			args = append(args, `-H "`+h[0]+": "+h[1]+`"`)
		} else {
			args = append(args, "-H "+shellQuote(h[0]+": "+h[1]))
		}
	}
	return first + curlBody(args, ex.body)
}

// curlBody appends the body: short ones with -d, long ones from a here
// document, indented for reading.
func curlBody(args []string, body string) string {
	heredoc := ""
	if body != "" {
		args = append(args, "-H 'Content-Type: application/json'")
		if len(body) <= 60 && !strings.Contains(body, "'") {
			args = append(args, "-d "+shellQuote(body))
		} else {
			v, _ := decodeOrdered([]byte(body))
			args = append(args, "--data-binary @- <<'EOF'")
			heredoc = "\n" + indentOrdered(v) + "\nEOF"
		}
	}
	var b strings.Builder
	for _, a := range args {
		b.WriteString(" \\\n  " + a)
	}
	return b.String() + heredoc
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shellWord leaves plain words (a URL without a query) unquoted.
func shellWord(s string) string {
	if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/._-") == "" {
		return s
	}
	return shellQuote(s)
}

// httpExchange sends an example with net/http, as the curl command would.
func httpExchange(t *testing.T, base string, ex *docExample, vars map[string]string) resp {
	t.Helper()
	var kv []string
	for _, q := range ex.spec.Query {
		kv = append(kv, url.QueryEscape(q[0])+"="+url.QueryEscape(q[1]))
	}
	path := ex.path
	if len(kv) > 0 {
		path += "?" + strings.Join(kv, "&")
	}
	rq := req{method: ex.method, path: path, header: map[string]string{}}
	if rt, ok := roleTokens[ex.Role]; ok {
		rq.token = rt.token
	}
	for _, h := range ex.spec.Header {
		rq.header[h[0]] = os.Expand(h[1], func(name string) string { return vars[name] })
	}
	if ex.body != "" {
		rq.body = ex.body
		rq.header["Content-Type"] = "application/json"
	}
	return doHTTP(t, base, rq)
}

// curlExchange runs the example's curl command in sh, against base, and
// reads the answer curl printed (-i: status line, headers, body).
func curlExchange(t *testing.T, base string, ex *docExample, vars map[string]string) resp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmdline := strings.Replace(ex.Curl, ex.base, base, 1)
	cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("run %s: %v\n%s", cmdline, err, stderr.Bytes())
		return resp{}
	}
	// curl has already undone any chunked encoding: read the head, then
	// take the rest as the body.
	br := bufio.NewReader(bytes.NewReader(out))
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	var code int
	if err == nil {
		_, err = fmt.Sscanf(line, "HTTP/1.1 %d", &code)
	}
	if err != nil {
		t.Errorf("read curl's status line of %s: %v\n%s", cmdline, err, out)
		return resp{}
	}
	header, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Errorf("read curl's headers of %s: %v\n%s", cmdline, err, out)
		return resp{}
	}
	body, _ := io.ReadAll(br)
	return resp{status: code, header: http.Header(header), body: body}
}
