package fakeprovider

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// nonceLife is how long an issued nonce may be answered.
const nonceLife = 5 * time.Minute

// nonces are issued per challenge and accepted once.
type nonces struct {
	mu     sync.Mutex
	issued map[string]time.Time
}

func (n *nonces) issue(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	v := hex.EncodeToString(b[:])
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.issued == nil {
		n.issued = map[string]time.Time{}
	}
	if len(n.issued) > 10000 {
		for k, t := range n.issued {
			if now.Sub(t) > nonceLife {
				delete(n.issued, k)
			}
		}
	}
	n.issued[v] = now
	return v
}

// consume reports whether v was issued, is fresh and unused, and uses it up.
func (n *nonces) consume(v string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.issued[v]
	delete(n.issued, v)
	return ok && now.Sub(t) <= nonceLife
}

// authResult is the outcome of checking a request's credentials.
type authResult int

const (
	authMissing authResult = iota // no credentials: challenge
	authStale                     // right password, unknown or used nonce: challenge with stale=true
	authBad                       // wrong user or password
	authOK
)

// authHeaders returns the challenge and credentials header names in use.
func (p *Provider) authHeaders() (challenge, credentials string, code int, reason string) {
	if p.cfg.ProxyAuth {
		return "Proxy-Authenticate", "Proxy-Authorization", sip.StatusProxyAuthRequired, "Proxy Authentication Required"
	}
	return "WWW-Authenticate", "Authorization", sip.StatusUnauthorized, "Unauthorized"
}

// authenticate checks the request's digest credentials; user is the digest
// username when the credentials are valid.
func (p *Provider) authenticate(req *sip.Request) (authResult, string) {
	_, credName, _, _ := p.authHeaders()
	h := req.GetHeader(credName)
	if h == nil {
		return authMissing, ""
	}
	c, err := digest.ParseCredentials(h.Value())
	if err != nil || c.Realm != p.cfg.Realm {
		return authBad, ""
	}
	pw, known := p.users[c.Username]
	if !known {
		return authBad, ""
	}
	chal := &digest.Challenge{Realm: p.cfg.Realm, Nonce: c.Nonce, Algorithm: "MD5", QOP: []string{"auth"}}
	want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: c.URI,
		Username: c.Username, Password: pw, Cnonce: c.Cnonce, Count: c.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(c.Response)) != 1 {
		return authBad, ""
	}
	if !p.nonce.consume(c.Nonce, p.cfg.Now()) {
		return authStale, c.Username
	}
	return authOK, c.Username
}

// challenge answers req with a fresh digest challenge.
func (p *Provider) challenge(req *sip.Request, stale bool) *sip.Response {
	chName, _, code, reason := p.authHeaders()
	ch := digest.Challenge{Realm: p.cfg.Realm, Nonce: p.nonce.issue(p.cfg.Now()), Algorithm: "MD5",
		QOP: []string{"auth"}, Stale: stale}
	return Response(req, code, reason, chName, ch.String())
}
