package render

import (
	"net/netip"
	"strings"
	"text/template"

	"github.com/trunkd/trunkd/registry"
)

// funcs returns the helper functions every template gets. vars are the
// target's vars, read by "var".
//
//	dbtext S          escape S for a Kamailio db_text column
//	pjsip S           escape S for an Asterisk config value (error if it cannot be)
//	xml S             escape S for a FreeSWITCH XML attribute (error if it cannot be)
//	name S            S if it can be an engine object name, else an error
//	sipUser S         S if it can be the user part of a SIP URI, else an error
//	digestUser S      S if it can be a quoted digest username, else an error
//	uri HOST PORT TR  sip:host[:port][;transport=tcp|tls]
//	hostport HOST PORT
//	ha1 USER REALM PASSWORD   md5 HA1 in hex
//	join LIST SEP, add A B, max A B
//	list V...         a list of its arguments (to pass several values to a define)
//	isIP S            whether S is an IPv4 or IPv6 address
//	var NAME DEFAULT  the target's var NAME, or DEFAULT when unset
func funcs(vars map[string]string) template.FuncMap {
	return template.FuncMap{
		"dbtext":     escapeDBText,
		"pjsip":      escapePJSIP,
		"xml":        escapeXML,
		"name":       checkName,
		"sipUser":    checkSIPUser,
		"digestUser": checkDigestUser,
		"uri":        sipURI,
		"hostport":   registry.JoinHostPort,
		"ha1":        digestHA1,
		"join":       strings.Join,
		"add":        func(a, b int) int { return a + b },
		"max":        func(a, b int) int { return max(a, b) },
		"list":       func(v ...any) []any { return v },
		"isIP": func(s string) bool {
			_, err := netip.ParseAddr(s)
			return err == nil
		},
		"var": func(name, def string) string {
			if v, ok := vars[name]; ok && v != "" {
				return v
			}
			return def
		},
	}
}
