package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// fileNameFor returns the file name for a new provider: its code when that
// is a safe name, else the code with unsafe characters replaced and a short
// hash of the code appended (so that "a b" and "a_b" do not collide).
// taken reports names already in use; a suffix is added until one is free.
func fileNameFor(code string, taken func(string) bool) string {
	var b strings.Builder
	safe := true
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		safe = false
		b.WriteByte('_')
	}
	base := b.String()
	if !safe || base == "" {
		sum := sha256.Sum256([]byte(code))
		base = strings.Trim(base, "_.") + "-" + hex.EncodeToString(sum[:4])
		base = strings.TrimPrefix(base, "-")
	}
	name := base + ".yaml"
	for i := 2; taken(name); i++ {
		name = base + "-" + itoa(i) + ".yaml"
	}
	return name
}
