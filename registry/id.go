package registry

import (
	"crypto/sha1"
	"encoding/hex"
)

// idNamespace salts derived ids so they do not collide with other name-based UUIDs.
const idNamespace = "trunkd.provider.code:"

// DeriveID returns the stable id of a provider whose file has no id: a
// name-based (version 5 layout) UUID of its code. The same code gives the same
// id on every machine and after every restart.
func DeriveID(code string) string {
	sum := sha1.Sum([]byte(idNamespace + code))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IsUUID reports whether s has the 8-4-4-4-12 hexadecimal shape of a UUID.
// Version and variant bits are not checked: the seed's own ids do not set them.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
