package sipcheck

import "github.com/emiago/sipgo/sip"

// noExpires asks for no Expires header (expires: 0 in the provider file:
// the registrar picks the expiry; query mode until a 423 asks for one).
const noExpires = -1

// registerRequest is what one REGISTER carries.
type registerRequest struct {
	domain, user    string // R-URI sip:domain; address of record sip:user@domain
	callID, fromTag string
	cseq            uint32
	contact         *sip.Uri // bind mode: our Contact; nil: a binding query
	expires         int      // Expires header; noExpires: none
	userAgent       string
}

// buildRegister builds a fresh REGISTER (sipgo mutates requests, so one
// is never sent twice); sipgo's default build adds Via, Max-Forwards and
// Content-Length when it is sent.
func buildRegister(r registerRequest) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: r.domain})
	aor := sip.Uri{Scheme: "sip", User: r.user, Host: r.domain}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	cid := sip.CallIDHeader(r.callID)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	if r.contact != nil {
		req.AppendHeader(&sip.ContactHeader{Address: *r.contact})
	}
	if r.expires != noExpires {
		e := sip.ExpiresHeader(r.expires)
		req.AppendHeader(&e)
	}
	req.AppendHeader(sip.NewHeader("User-Agent", r.userAgent))
	return req
}

// optionsRequest is what one OPTIONS ping carries.
type optionsRequest struct {
	target      target
	user        string // the trunk's AOR user; "" for none
	localDomain string
	domain      string
	ourHost     string // the advertised host, for a trunk without account
	userAgent   string
}

// buildOptions builds an OPTIONS to the target from the trunk's account:
// sip:user@localdomain (else the domain), or sip:trunkd@<localdomain or
// our host> for a trunk without username.
func buildOptions(o optionsRequest) *sip.Request {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: o.target.host, Port: o.target.port})
	user, host := o.user, o.localDomain
	if host == "" {
		host = o.domain
		if user == "" {
			host = o.ourHost
		}
	}
	if user == "" {
		user = "trunkd"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: req.Recipient})
	req.AppendHeader(sip.NewHeader("User-Agent", o.userAgent))
	return req
}
