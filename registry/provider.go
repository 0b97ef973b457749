package registry

import "strings"

// Provider is one SIP trunk account: every field of the seed's provider
// entity, with the seed's JSON names, types and field order.
type Provider struct {
	ID                 string `json:"id"`
	Code               string `json:"code"`
	Enabled            int    `json:"enabled"`
	Username           string `json:"username"`
	Login              string `json:"login"`
	Pwd                string `json:"pwd"`
	Domain             string `json:"domain"`
	ProxyAddr          string `json:"proxyaddr"`
	ProxyPort          int    `json:"proxyport"`
	Transport          string `json:"transport"`
	AlternativeProxies string `json:"alternative_proxies"`
	ExtAddrs           string `json:"extaddrs"`
	ServerIdx          int    `json:"serveridx"`
	Reg                int    `json:"reg"`
	Expires            int    `json:"expires"`
	PingMode           string `json:"pingmode"`
	PingSrv            string `json:"pingsrv"`
	PingTimeout        int    `json:"pingtimeout"`
	LocalDomain        string `json:"localdomain"`
	Media              int    `json:"media"`
	Reinvite           int    `json:"reinvite"`
	Translit           int    `json:"translit"`
	Lic                Lic    `json:"lic"`
	TrunksOut          int    `json:"trunksout"`
	Opts               Opts   `json:"opts"`
	Ext                Ext    `json:"ext"`
}

// Lic holds the provider's licence limits.
type Lic struct {
	SipTrunks int `json:"siptrunks"`
}

// Opts holds free-form descriptive fields.
type Opts struct {
	Title   string `json:"title"`
	Comment string `json:"comment"`
}

// Ext holds the timestamps the daemon keeps: creation and last write.
type Ext struct {
	CT  Timestamp `json:"ct"`
	LWT Timestamp `json:"lwt"`
}

// Default returns a provider with every default of an absent field applied.
func Default() Provider {
	return Provider{
		Enabled:     1,
		Reg:         1,
		Expires:     600,
		Transport:   "udp",
		PingMode:    "none",
		PingTimeout: 10,
		Reinvite:    1,
	}
}

// AnyServer is the server index of a daemon without server_index: every
// enabled trunk is active on it.
const AnyServer = -1

// Active reports whether the trunk should be rendered and probed on a server
// with the given index; serverIndex < 0 (AnyServer) means "no server index
// configured".
func (p *Provider) Active(serverIndex int) bool {
	return p.Enabled == 1 && (serverIndex < 0 || p.ServerIdx == serverIndex)
}

// AORUser is the user part of the trunk's address of record: username,
// else login, else, for a registering trunk (which needs an account), the
// code. Validation keeps each of them a valid SIP URI user part.
func (p *Provider) AORUser() string { return p.account(p.Username, p.Login) }

// AuthUser is the digest username: login, else username, else, for a
// registering trunk, the code.
func (p *Provider) AuthUser() string { return p.account(p.Login, p.Username) }

// account is the first of first and second that is set, else the code of
// a registering trunk, else "".
func (p *Provider) account(first, second string) string {
	switch {
	case first != "":
		return first
	case second != "":
		return second
	case p.Reg == 1:
		return p.Code
	}
	return ""
}

// normalize puts values that compare case-insensitively into their one
// stored form: the id in lower case.
func (p *Provider) normalize() {
	p.ID = strings.ToLower(p.ID)
}
