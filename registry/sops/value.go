package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
)

// The documented value format: ENC[AES256_GCM,data:…,iv:…,tag:…,type:…],
// AES-256-GCM with a 32-byte nonce, the key path ("pwd:") as additional
// data, base64 parts.
var encRe = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

const nonceSize = 32

// plainValue is a leaf value in the form the MAC hashes and the YAML shows:
// its text and its sops type (str, int, float, bool).
type plainValue struct {
	text string
	typ  string
}

// encryptValue encrypts v with key, path as additional data. An empty
// string stays empty, as the sops tool does.
func encryptValue(v plainValue, key []byte, path string) (string, error) {
	if v.typ == "str" && v.text == "" {
		return "", nil
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	iv := make([]byte, nonceSize)
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("sops: random nonce: %w", err)
	}
	out := gcm.Seal(nil, iv, []byte(v.text), []byte(path))
	n := len(out) - aes.BlockSize
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]", b64(out[:n]), b64(iv), b64(out[n:]), v.typ), nil
}

// decryptValue decrypts an ENC[…] value; "" is the empty string.
func decryptValue(s string, key []byte, path string) (plainValue, error) {
	if s == "" {
		return plainValue{typ: "str"}, nil
	}
	parts, err := parseEnc(s)
	if err != nil {
		return plainValue{}, err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return plainValue{}, err
	}
	if len(parts.iv) != nonceSize {
		return plainValue{}, fmt.Errorf("nonce of %d bytes, want %d", len(parts.iv), nonceSize)
	}
	plain, err := gcm.Open(nil, parts.iv, append(parts.data, parts.tag...), []byte(path))
	if err != nil {
		return plainValue{}, fmt.Errorf("does not decrypt with the file's data key (wrong key or tampered value)")
	}
	return normalize(string(plain), parts.typ)
}

type encParts struct {
	data, iv, tag []byte
	typ           string
}

// parseEnc checks and splits an ENC[…] value (Strip uses it without key).
func parseEnc(s string) (encParts, error) {
	m := encRe.FindStringSubmatch(s)
	if m == nil {
		return encParts{}, fmt.Errorf("not a sops encrypted value (ENC[AES256_GCM,…])")
	}
	var p encParts
	var err error
	for i, dst := range []*[]byte{&p.data, &p.iv, &p.tag} {
		if *dst, err = base64.StdEncoding.DecodeString(m[i+1]); err != nil {
			return encParts{}, fmt.Errorf("bad base64 in the encrypted value: %w", err)
		}
	}
	switch p.typ = m[4]; p.typ {
	case "str", "int", "float", "bool":
		return p, nil
	}
	return encParts{}, fmt.Errorf("value type %q is not supported (str, int, float, bool)", p.typ)
}

// normalize gives a value the text the sops tool hashes for its type.
func normalize(text, typ string) (plainValue, error) {
	switch typ {
	case "str":
		return plainValue{text, typ}, nil
	case "int":
		n, err := strconv.Atoi(text)
		return plainValue{strconv.Itoa(n), typ}, wrapParse(err)
	case "float":
		f, err := strconv.ParseFloat(text, 64)
		return plainValue{strconv.FormatFloat(f, 'f', -1, 64), typ}, wrapParse(err)
	case "bool":
		b, err := strconv.ParseBool(text)
		return plainValue{map[bool]string{true: "True", false: "False"}[b], typ}, wrapParse(err)
	}
	return plainValue{}, fmt.Errorf("value type %q is not supported (str, int, float, bool)", typ)
}

func wrapParse(err error) error {
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sops data key: %w", err)
	}
	return cipher.NewGCMWithNonceSize(block, nonceSize)
}
