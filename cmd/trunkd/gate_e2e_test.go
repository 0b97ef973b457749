package main

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// hostileCase is one POST of issue 9's hostile client: status is the
// answer wanted, want a part of its error message.
type hostileCase struct {
	name, body string
	status     int
	want       string
}

// hostileCases are the values listed at the top of issue 9: each is
// refused with a message naming the field, or (the README's example with
// serveridx 11) accepted and rendered.
func hostileCases() []hostileCase {
	cs := []hostileCase{
		{"README example on server 11", `{"code":"new-trunk2","domain":"sip.example.net","pwd":"s3cret","serveridx":11}`, 200, ""},
		{"code with a space", `{"code":"a b","domain":"sip.example.net","serveridx":11}`, 400, "code: must be letters, digits"},
		{"code with a trailing space", `{"code":"trail ","domain":"sip.example.net","serveridx":11}`, 400, "code: must not begin or end with white space"},
		{"blank code", `{"code":" ","domain":"sip.example.net","serveridx":11}`, 400, "code: must not begin or end with white space"},
		{"look-alike code", `{"code":"Oktell ","domain":"sip.example.net","serveridx":11}`, 400, "code: must not begin or end with white space"},
		{"username with a space", `{"code":"u-space","username":"a b","domain":"sip.example.net","serveridx":11}`, 400, "username: must be the user part of a SIP URI"},
		{"pwd with ESC", `{"code":"p-esc","username":"u","pwd":"a\u001bb","domain":"sip.example.net","serveridx":11}`, 400, "pwd: must not contain control characters, found U+001B"},
		{"pwd with ${", `{"code":"p-dollar","username":"u","pwd":"a${b}","domain":"sip.example.net","serveridx":11}`, 400, `pwd: must not contain "${"`},
		{"id of Oktell in upper case", `{"id":"58563833-016C-D21B-070F-50E54938780C","code":"case-dup","domain":"sip.example.net","serveridx":11}`, 409, "id 58563833-016c-d21b-070f-50e54938780c is already used"},
	}
	controls := map[string]string{`\t`: "U+0009", `\u000b`: "U+000B", `\f`: "U+000C", `\u001b`: "U+001B",
		`\u007f`: "U+007F", `\u0085`: "U+0085", `\u2028`: "U+2028"}
	for esc, r := range controls {
		for _, field := range []string{"username", "pwd", "title"} {
			v := `"` + field + `":"a` + esc + `b"`
			if field == "title" {
				v = `"opts":{"title":"a` + esc + `b"}`
			}
			path := strings.Replace(field, "title", "opts.title", 1)
			cs = append(cs, hostileCase{field + " with " + r, `{"code":"ctl","domain":"sip.example.net","serveridx":11,` + v + `}`,
				400, path + ": must not contain control characters, found " + r})
		}
	}
	return cs
}

// TestMakeRunRefusesHostileValues is issue 9's end-to-end check: `make run`
// (the example config and providers, through run()), every hostile value
// POSTed, then a PATCH of another trunk, which must reach every engine file
// under out/; every render target stays ok without trunk errors.
func TestMakeRunRefusesHostileValues(t *testing.T) {
	d := startDemoRun(t)
	engineFiles := []string{"out/kamailio/uacreg", "out/kamailio/dispatcher.list", "out/asterisk/pjsip_trunks.conf", "out/freeswitch/trunkd_gateways.xml"}
	for _, c := range hostileCases() {
		status, msg := d.send(t, http.MethodPost, "/rest/v1/uc/providers", c.body)
		if status != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("%s: POST %s = %d %s, want %d with %q", c.name, c.body, status, msg, c.status, c.want)
		}
	}
	// 3528769 is on server 11: its new proxy port must reach every file
	// (Kamailio's db_text escapes the ':').
	patched := regexp.MustCompile(`212\.53\.40\.40\\?:5077`)
	if status, msg := d.send(t, http.MethodPatch, "/rest/v1/uc/providers/c581b67c-016c-d219-b121-50e54938780c", `{"proxyport":5077}`); status != 200 {
		t.Fatalf("PATCH 3528769: %d %s", status, msg)
	}
	for _, f := range engineFiles {
		waitUntil(t, f+" holds the PATCH and the README's trunk", func() bool {
			data, _ := os.ReadFile(filepath.Join(d.dir, f))
			return patched.Match(data) && strings.Contains(string(data), "new-trunk2")
		})
	}
	// Every engine file under out/ that holds the trunk shows the change:
	// none is left behind, and none holds a refused value.
	var holding []string
	err := filepath.WalkDir(filepath.Join(d.dir, "out"), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return err // dot files are an apply's journal, gone once it ends
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(d.dir, path)
		if strings.Contains(string(data), "3528769") {
			holding = append(holding, rel)
			if !patched.Match(data) {
				t.Errorf("%s holds 3528769 without the PATCHed port:\n%s", rel, data)
			}
		}
		for _, refused := range []string{"u-space", "p-esc", "p-dollar", "case-dup", "ctl"} {
			if strings.Contains(string(data), refused) {
				t.Errorf("%s holds the refused trunk %s", rel, refused)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(holding)
	want := slices.Sorted(slices.Values(engineFiles))
	if !slices.Equal(holding, want) {
		t.Errorf("files under out/ holding 3528769: %v, want %v", holding, want)
	}
	d.checkTargetsOK(t)
}

// send makes an admin request with a JSON body and returns the status and
// the body (the error message for an error).
func (d *demoRun) send(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var e struct {
		Message string `json:"error_message"`
	}
	if res.StatusCode >= 400 && json.Unmarshal(data, &e) == nil {
		return res.StatusCode, e.Message
	}
	return res.StatusCode, string(data)
}

// checkTargetsOK fails when a render target of /status is not ok, or
// reports trunk errors, or a file is invalid.
func (d *demoRun) checkTargetsOK(t *testing.T) {
	t.Helper()
	_, body := get(t, d.base+"/status")
	var st struct {
		Registry struct {
			Invalid []json.RawMessage `json:"invalid_files"`
		} `json:"registry"`
		Render struct {
			Targets []struct {
				Name        string            `json:"name"`
				State       string            `json:"state"`
				TrunkErrors []json.RawMessage `json:"trunk_errors"`
			} `json:"targets"`
		} `json:"render"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	if len(st.Registry.Invalid) > 0 || len(st.Render.Targets) != 5 {
		t.Errorf("/status: %d invalid files, %d render targets (want 0 and 5):\n%s", len(st.Registry.Invalid), len(st.Render.Targets), body)
	}
	for _, tg := range st.Render.Targets {
		if tg.State != "ok" || len(tg.TrunkErrors) > 0 {
			t.Errorf("render target %s: state %s, %d trunk errors\n%s", tg.Name, tg.State, len(tg.TrunkErrors), body)
		}
	}
}
