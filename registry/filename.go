package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// FileName returns the file name for a provider's code: the code itself
// when it is made of letters, digits, '-', '_' and '.' (not first), else the
// code with every other character replaced by '_' and a short hash of the
// code appended, so that "a b" and "a_b" do not collide. The name never
// starts with '.', never holds a path separator and always ends in .yaml.
func FileName(code string) string {
	var b strings.Builder
	safe := code != ""
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
	if !safe {
		sum := sha256.Sum256([]byte(code))
		base = strings.Trim(base, "_.")
		if base != "" {
			base += "-"
		}
		base += hex.EncodeToString(sum[:4])
	}
	return base + ".yaml"
}

// fileNameFor is FileName with a numeric suffix added until taken reports
// the name free.
func fileNameFor(code string, taken func(string) bool) string {
	name := FileName(code)
	base := strings.TrimSuffix(name, ".yaml")
	for i := 2; taken(name); i++ {
		name = base + "-" + itoa(i) + ".yaml"
	}
	return name
}
