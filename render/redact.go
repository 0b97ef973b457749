package render

import (
	"sort"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// redactor masks every password the renderer has seen (as written raw and
// in each engine's escaping, and as HA1) in command output and error
// messages before they reach the log or /status. It only grows: a password
// removed from the providers may still be in an engine's output.
type redactor struct {
	secrets map[string]bool
	seen    []*registry.Provider // providers of the last snapshot (unchanged ones are shared), sorted by code
	stale   bool                 // secrets grew since r was built
	r       *strings.Replacer
}

// mask is what a password is replaced with.
const mask = "***"

// learn adds the passwords of every provider in snap (active or not) that
// was not in the last snapshot. The replacer is rebuilt when first used,
// not here: learning is on the way from a file write to the reload.
func (rd *redactor) learn(snap *registry.Snapshot) {
	if snap == nil {
		return
	}
	if rd.secrets == nil {
		rd.secrets = map[string]bool{}
	}
	add := func(s string) {
		if s != "" && !rd.secrets[s] {
			rd.secrets[s] = true
			rd.stale = true
		}
	}
	j := 0
	for _, p := range snap.Providers() {
		if p.Pwd == "" || findSame(rd.seen, p, &j) >= 0 {
			continue
		}
		add(p.Pwd)
		add(escapeDBText(p.Pwd))
		if s, err := escapePJSIP(p.Pwd); err == nil {
			add(s)
		}
		if s, err := escapeXML(p.Pwd); err == nil {
			add(s)
		}
		add(digestHA1(firstNonEmpty(p.Login, p.Username), p.Domain, p.Pwd))
	}
	rd.seen = snap.Providers()
}

func (rd *redactor) build() {
	list := make([]string, 0, len(rd.secrets))
	for s := range rd.secrets {
		list = append(list, s)
	}
	// Longer first, so that a password containing another is masked whole.
	sort.Slice(list, func(i, j int) bool {
		if len(list[i]) != len(list[j]) {
			return len(list[i]) > len(list[j])
		}
		return list[i] < list[j]
	})
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, mask)
	}
	rd.r = strings.NewReplacer(pairs...)
}

// apply masks every known password in s.
func (rd *redactor) apply(s string) string {
	if rd.stale {
		rd.build()
		rd.stale = false
	}
	if rd.r == nil || s == "" {
		return s
	}
	return rd.r.Replace(s)
}
