package api

import (
	"strings"
	"testing"
)

// No response to a non-admin, no error message and no log line carries a
// password, whatever the request; not even when a client puts a password
// into a field whose invalid value is quoted back.
func TestPasswordsDoNotLeak(t *testing.T) {
	e := newEnv(t, listFixture)
	secrets := []string{sipnetPwd, "oktell-secret", "secret-alpha", "secret-beta", "new-secret-pwd"}
	type step struct {
		method, path, token, body string
		adminMaySee               bool
	}
	steps := []step{
		{"GET", collectionPath, adminToken, "", false},
		{"GET", collectionPath + "?flat=true", adminToken, "", false},
		{"GET", collectionPath + "?mask=lic,opts,ext", adminToken, "", false},
		{"GET", collectionPath + `?filter={"pwd":"VeryStrongPassword"}`, adminToken, "", false},
		{"GET", collectionPath + `?filter={"login":"VeryStrongPassword"}`, readerToken, "", false},
		{"GET", collectionPath + "?order=pwd", adminToken, "", false},
		{"GET", collectionPath + "/" + sipnetID, readerToken, "", false},
		{"GET", collectionPath + "/" + sipnetID, writerToken, "", false},
		{"GET", collectionPath + "/" + sipnetID + "?flat=true", writerToken, "", false},
		{"GET", collectionPath + "/" + sipnetID + "?mask=pwd", adminToken, "", false},
		{"GET", collectionPath + "/" + sipnetID + "/state", readerToken, "", false},
		{"LOOKUP", collectionPath, readerToken, `"VeryStrongPassword"`, false},
		{"POST", collectionPath, writerToken, `{"code":"leak1","domain":"leak.example","pwd":"new-secret-pwd"}`, false},
		{"POST", collectionPath, adminToken, `{"code":"leak2","domain":"bad host new-secret-pwd","pwd":"new-secret-pwd"}`, false},
		{"POST", collectionPath, adminToken, `{"code":"leak3","domain":"leak.example","pwd":"new-secret-pwd","pingsrv":"new-secret-pwd:x"}`, false},
		{"PATCH", collectionPath + "/" + sipnetID, writerToken, `{"pwd":"VeryStrongPassword"}`, false},
		{"PATCH", collectionPath + "/" + sipnetID, adminToken, `{"domain":"VeryStrongPassword is not a host"}`, false},
		{"PATCH", collectionPath + "/" + sipnetID, adminToken, `{"localdomain":"x y VeryStrongPassword"}`, false},
		{"PATCH", collectionPath + "/" + sipnetID, writerToken, `{"pwd":12}`, false},
		{"PATCH", collectionPath + "/" + oktellID, writerToken, `{"code":"3528769","pwd":"oktell-secret"}`, false},
		{"GET", "/status", "", "", false},
		{"GET", "/metrics", "", "", false},
		{"GET", collectionPath + "/" + sipnetID, adminToken, "", true},
	}
	for _, s := range steps {
		r := e.do(req{method: s.method, path: s.path, token: s.token, body: s.body})
		if r.status == 0 {
			t.Fatalf("%s %s: no response", s.method, s.path)
		}
		leaked := false
		for _, secret := range secrets {
			leaked = leaked || strings.Contains(r.String(), secret)
		}
		if leaked != s.adminMaySee {
			t.Errorf("%s %s as %s: %d, password shown=%v: %s", s.method, s.path, s.token, r.status, leaked, r.body)
		}
	}
	logs := e.logs.String()
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the password %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "provider created") || !strings.Contains(logs, "by=demo-writer") {
		t.Errorf("writes are not in the audit log:\n%s", logs)
	}
	if r := e.get(collectionPath+"/"+sipnetID, adminToken); r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("a response with pwd must not be stored by caches: %q", r.header.Get("Cache-Control"))
	}
}

// TestNoPasswordGuessOracle: a non-admin's error for a value that happens
// to contain the stored password reads exactly like one for any other
// guess, so error scrubbing cannot confirm a guess.
func TestNoPasswordGuessOracle(t *testing.T) {
	e := newEnv(t, nil)
	answer := func(guess string) string {
		r := e.do(req{method: "PATCH", path: collectionPath + "/" + sipnetID, token: writerToken,
			body: `{"domain":"` + guess + ` x"}`})
		if r.status != 400 {
			t.Fatalf("PATCH with an invalid domain: %d %s", r.status, r.body)
		}
		return strings.ReplaceAll(string(r.body), guess, "GUESS")
	}
	if right, wrong := answer(sipnetPwd), answer("NotThePassword1"); right != wrong {
		t.Errorf("the answer tells a right guess from a wrong one:\n%s\n%s", right, wrong)
	}
}
