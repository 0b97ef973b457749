package render

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// The escape helpers never put the value they reject into their error:
// the value may be a password. The renderer names the trunk instead.

// escapeDBText escapes a value for a Kamailio db_text column: backslash,
// the column separator ':' and the control characters db_text knows
// (newline, CR, tab, NUL). Every string can be written.
func escapeDBText(s string) string { return dbTextEscapes.Replace(s) }

var dbTextEscapes = strings.NewReplacer(`\`, `\\`, ":", `\:`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\x00", `\0`)

// escapePJSIP escapes a value for Asterisk's config parser: ';' starts a
// comment unless written '\;'. The parser reads "key=>value" as
// "key=value", dropping a '>' right after '=', so a value that begins with
// '>' gets a space before it (the parser strips white space around a
// value). A line break or NUL cannot be written and white space at either
// end would be stripped: such values are rejected rather than silently
// changed (the registry refuses them, so only a template's own values can
// hit this).
func escapePJSIP(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", errors.New("value contains a line break or NUL, which pjsip.conf cannot represent")
	}
	if s != strings.TrimSpace(s) {
		return "", errors.New("value begins or ends with white space, which pjsip.conf would strip")
	}
	s = strings.ReplaceAll(s, ";", `\;`)
	if strings.HasPrefix(s, ">") {
		s = " " + s
	}
	return s, nil
}

// escapeXML escapes a value for a FreeSWITCH XML attribute: the five XML
// specials become entities, '$' becomes "&#36;" so the XML pre-processor
// never sees "$${" and tab, LF and CR become character references. Other
// control characters cannot appear in XML, and "${" would still be a
// channel-variable expansion after parsing: both are rejected.
func escapeXML(s string) (string, error) {
	if strings.Contains(s, "${") {
		return "", errors.New(`value contains "${", which FreeSWITCH would expand as a variable`)
	}
	if strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 && !strings.ContainsRune("\t\n\r", c) || c == 0x7f }) {
		return "", errors.New("value contains a control character, which XML cannot represent")
	}
	return xmlEscapes.Replace(s), nil
}

var xmlEscapes = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "$", "&#36;",
	"\t", "&#9;", "\n", "&#10;", "\r", "&#13;")

// checkName accepts a trunk code as an engine object name (Kamailio
// l_uuid and duid, pjsip section, FreeSWITCH gateway): letters, digits,
// '.', '_', '+' and '-', starting with a letter or digit. Anything else
// could end a section header, split an attribute list or a command line.
func checkName(s string) (string, error) {
	if s == "" {
		return "", errors.New("code is empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || i > 0 && strings.IndexByte("._+-", c) >= 0 {
			continue
		}
		return "", errors.New("code " + strconv.Quote(s) + " cannot be an engine object name: use letters, digits, '.', '_', '+', '-' (starting with a letter or digit)")
	}
	return s, nil
}

// checkSIPUser accepts the user part of a SIP URI (RFC 3261 "user":
// unreserved, user-unreserved and %HH escapes), which is also safe inside a
// quoted digest username. Empty is rejected: a URI needs a user.
func checkSIPUser(s string) (string, error) {
	if s == "" {
		return "", errors.New("username and login are both empty, a SIP URI needs a user")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c) || strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return "", errors.New("username or login contains a character not allowed in a SIP URI user part (write it %-escaped)")
		}
	}
	return s, nil
}

// checkDigestUser accepts a digest username that an engine writes into a
// quoted string without escaping it (Kamailio's uac): no '"', '\' or
// control characters. '@' and the like are fine ("1001@sip.example").
func checkDigestUser(s string) (string, error) {
	if s == "" {
		return "", errors.New("username and login are both empty, digest authentication needs a user")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			return "", errors.New("login contains '\"', '\\' or a control character, which cannot be sent as a digest username")
		}
	}
	return s, nil
}

// sipURI formats sip:host[:port][;transport=tcp|tls]; udp is the default
// transport and is left out. A port of 0 is left out.
func sipURI(host string, port int, transport string) string {
	u := "sip:" + registry.JoinHostPort(host, port)
	if transport == "tcp" || transport == "tls" {
		u += ";transport=" + transport
	}
	return u
}

// digestHA1 is md5(user:realm:password) in hex, the HA1 of RFC 2617.
func digestHA1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
