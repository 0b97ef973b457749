package fakeprovider

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Binding is one registered contact of an address of record.
type Binding struct {
	Contact string
	Expires time.Time
	CallID  string
	CSeq    uint32
}

// Register is one REGISTER as the provider saw it, for tests.
type Register struct {
	AOR        string
	User       string // digest username when authorised
	CallID     string
	CSeq       uint32
	Contacts   int // Contact headers in the request
	Expires    int // Expires header, -1 when absent
	Authorized bool
	Code       int // the answer
}

// Registers returns the last REGISTERs handled (at most 1000), oldest first.
func (p *Provider) Registers() []Register {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Register(nil), p.history...)
}

// Bindings returns the live bindings of an AOR ("user@host"), by contact.
func (p *Provider) Bindings(aor string) []Binding {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	var out []Binding
	for _, b := range p.bindings[aor] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contact < out[j].Contact })
	return out
}

func (p *Provider) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	p.registers.Add(1)
	rec := Register{AOR: aorOf(req), Expires: -1, Contacts: len(req.GetHeaders("Contact"))}
	if cid := req.CallID(); cid != nil {
		rec.CallID = cid.Value()
	}
	if cs := req.CSeq(); cs != nil {
		rec.CSeq = cs.SeqNo
	}
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			rec.Expires = n
		}
	}
	res := p.register(req, &rec)
	rec.Code = res.StatusCode
	if res.StatusCode == sip.StatusOK {
		p.registered.Add(1)
	}
	p.mu.Lock()
	p.history = append(p.history, rec)
	if len(p.history) > 1000 {
		p.history = append([]Register(nil), p.history[len(p.history)-1000:]...)
	}
	p.mu.Unlock()
	p.log.Debug("fakeprovider: REGISTER", "aor", rec.AOR, "user", rec.User, "code", rec.Code)
	p.respond(tx, res)
}

// register authenticates req and applies its contacts.
func (p *Provider) register(req *sip.Request, rec *Register) *sip.Response {
	switch res, user := p.authenticate(req); res {
	case authMissing:
		return p.challenge(req, false)
	case authStale:
		return p.challenge(req, true)
	case authBad:
		if p.cfg.ForbidBadCredentials {
			return Response(req, sip.StatusForbidden, "Forbidden")
		}
		return p.challenge(req, false)
	default:
		rec.Authorized, rec.User = true, user
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if res := p.applyContacts(req, rec); res != nil {
		return res
	}
	return p.listBindings(req, rec.AOR)
}

// applyContacts adds, refreshes or removes the request's contacts; a
// non-nil response is an error answer. Called with p.mu held.
func (p *Provider) applyContacts(req *sip.Request, rec *Register) *sip.Response {
	contacts := req.GetHeaders("Contact")
	if len(contacts) == 1 && strings.TrimSpace(contacts[0].Value()) == "*" {
		if rec.Expires != 0 {
			return Response(req, sip.StatusBadRequest, "Contact * Needs Expires 0")
		}
		delete(p.bindings, rec.AOR)
		return nil
	}
	changes, res := p.contactChanges(req, contacts, rec)
	if res != nil {
		return res
	}
	now := p.cfg.Now()
	for _, ch := range changes {
		if ch.exp == 0 {
			delete(p.bindings[rec.AOR], ch.uri)
			continue
		}
		if p.bindings[rec.AOR] == nil {
			p.bindings[rec.AOR] = map[string]Binding{}
		}
		p.bindings[rec.AOR][ch.uri] = Binding{Contact: ch.uri, CallID: rec.CallID, CSeq: rec.CSeq,
			Expires: now.Add(time.Duration(ch.exp) * time.Second)}
	}
	return nil
}

// contactChange is one contact of a REGISTER and its granted expiry (0:
// remove it).
type contactChange struct {
	uri string
	exp int
}

// contactChanges checks every contact of the request before any is
// applied; a non-nil response is the error answer. Called with p.mu held.
func (p *Provider) contactChanges(req *sip.Request, contacts []sip.Header, rec *Register) ([]contactChange, *sip.Response) {
	var changes []contactChange
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, Response(req, sip.StatusBadRequest, "Bad Contact")
		}
		exp := 3600
		if rec.Expires >= 0 {
			exp = rec.Expires
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				exp = n
			}
		}
		if exp > 0 && exp < p.cfg.MinExpires {
			return nil, Response(req, sip.StatusIntervalToBrief, "Interval Too Brief", "Min-Expires", strconv.Itoa(p.cfg.MinExpires))
		}
		uri := c.Address.String()
		if b, ok := p.bindings[rec.AOR][uri]; ok && b.CallID == rec.CallID && rec.CSeq <= b.CSeq {
			return nil, Response(req, sip.StatusInternalServerError, "Out Of Order CSeq")
		}
		changes = append(changes, contactChange{uri, min(exp, p.cfg.MaxExpires)})
	}
	return changes, nil
}

// listBindings answers 200 with every live binding of aor. Called with p.mu held.
func (p *Provider) listBindings(req *sip.Request, aor string) *sip.Response {
	now := p.cfg.Now()
	res := Response(req, sip.StatusOK, "OK")
	var uris []string
	for uri, b := range p.bindings[aor] {
		if !b.Expires.After(now) {
			delete(p.bindings[aor], uri)
			continue
		}
		uris = append(uris, uri)
	}
	sort.Strings(uris)
	for _, uri := range uris {
		left := int(p.bindings[aor][uri].Expires.Sub(now).Round(time.Second) / time.Second)
		res.AppendHeader(sip.NewHeader("Contact", "<"+uri+">;expires="+strconv.Itoa(left)))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	return res
}

// aorOf is the request's address of record, user@host of the To URI.
func aorOf(req *sip.Request) string {
	to := req.To()
	if to == nil {
		return ""
	}
	return to.Address.User + "@" + strings.ToLower(to.Address.Host)
}
