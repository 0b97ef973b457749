package sops

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"gopkg.in/yaml.v3"
)

// ErrEncrypted: Encrypt was given a file that already has a sops section.
var ErrEncrypted = errors.New("already sops-encrypted")

// macOnlyEncryptedInit starts the MAC of a file with mac_only_encrypted, as
// the sops tool does (sha256 of "sops"), so that it never equals the MAC
// over all values.
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb,
	0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// sealedEdit writes the encrypted value tok in place of a leaf: quoted
// when empty or in a flow collection, where ENC[…] holds flow indicators.
func sealedEdit(l leaf, tok string) edit {
	e := edit{node: l.node, flow: l.flow, text: tok, want: tok}
	if tok == "" || l.flow {
		e.text = `"` + tok + `"`
	}
	return e
}

// regexpPwd is EncryptedRegex compiled.
var regexpPwd = regexp.MustCompile(EncryptedRegex)

// IsEncrypted tells whether a provider file has a sops section.
func IsEncrypted(data []byte) bool {
	if !mayHaveSection(data) {
		return false
	}
	d, err := parseDocument("", data)
	return err == nil && d.sops != nil
}

// mayHaveSection is the cheap test that keeps plaintext files from being
// parsed twice: the sops tool (and Encrypt) writes the section as a
// `sops:` line at column 0. A file that spells it otherwise ({sops: …},
// "sops":) is read as plaintext, and the registry reports the unknown key.
func mayHaveSection(data []byte) bool {
	return bytes.HasPrefix(data, []byte("sops:")) || bytes.Contains(data, []byte("\nsops:"))
}

// Decrypt returns the plaintext of a sops file: its encrypted values
// decrypted in place and the sops section removed, every other byte (and
// so every line number) as in the file. The MAC is checked. A file without
// a sops section is returned as it is. Errors name the file, the line and
// the key, never a value.
func Decrypt(name string, data []byte, ids []age.Identity) ([]byte, error) {
	d, m, leaves, err := open(name, data)
	if err != nil || d.sops == nil {
		return data, err
	}
	key, err := m.dataKey(ids)
	if err != nil {
		return nil, &Error{File: name, Kind: Broken, Msg: err.Error(), Err: err}
	}
	mac := newMAC()
	edits := make([]edit, 0, len(leaves))
	for _, l := range leaves {
		v, err := decryptValue(l.node.Value, key, l.path)
		if err != nil {
			return nil, &Error{File: name, Line: l.node.Line, Kind: Broken, Msg: dotted(l.path) + " " + err.Error(), Err: err}
		}
		mac.Write([]byte(v.text))
		edits = append(edits, edit{node: l.node, flow: l.flow, text: v.yamlText(), want: v.text})
	}
	want, err := decryptValue(m.MAC, key, m.macAAD())
	if err != nil {
		return nil, &Error{File: name, Line: d.sopsKey.Line, Kind: Broken, Msg: "sops.mac " + err.Error(), Err: err}
	}
	if want.text != fmt.Sprintf("%X", mac.Sum(nil)) {
		return nil, &Error{File: name, Line: d.sopsKey.Line, Kind: Broken, Msg: "sops.mac: does not match the encrypted values (changed without the key?)"}
	}
	out, err := splice(data, edits, d)
	if err == nil {
		err = verify(out, m.EncryptedRegex, edits)
	}
	return out, wrapName(name, err)
}

// Strip checks a sops file without the key (the metadata and the form of
// every encrypted value) and returns it without its sops section, the
// encrypted values left as they are: for validating everything but the
// password. A file without a sops section is returned as it is.
func Strip(name string, data []byte) ([]byte, error) {
	d, _, leaves, err := open(name, data)
	if err != nil || d.sops == nil {
		return data, err
	}
	for _, l := range leaves {
		if l.node.Value == "" {
			continue
		}
		if _, err := parseEnc(l.node.Value); err != nil {
			return nil, &Error{File: name, Line: l.node.Line, Kind: Broken, Msg: dotted(l.path) + " " + err.Error(), Err: err}
		}
	}
	return splice(data, nil, d)
}

// Encrypt encrypts the pwd values of a plaintext provider file for the
// recipients with a fresh data key and appends the sops section
// (encrypted_regex ^pwd$, mac_only_encrypted, MAC): the result is a file
// the sops tool decrypts and edits. Everything else stays byte for byte. A
// file without pwd is returned as it is; one with a sops section is
// ErrEncrypted.
func Encrypt(name string, data []byte, recipients []Recipient, now time.Time) ([]byte, error) {
	d, err := parseDocument(name, data)
	if err != nil {
		return nil, err
	}
	if d.sops != nil {
		return nil, &Error{File: name, Kind: Layout, Msg: ErrEncrypted.Error(), Err: ErrEncrypted}
	}
	if d.root.Style&yaml.FlowStyle != 0 {
		return nil, &Error{File: name, Kind: Layout, Msg: "a file that is one flow mapping {…} cannot take a sops section; write it in block style"}
	}
	leaves, err := d.leaves(regexpPwd)
	if err != nil || len(leaves) == 0 {
		return data, wrapName(name, err)
	}
	m, key, err := newMetadata(recipients, now)
	if err != nil {
		return nil, err
	}
	mac := newMAC()
	edits := make([]edit, 0, len(leaves))
	for _, l := range leaves {
		// The text as written, type str: the registry reads pwd as a string, so `pwd: 0123`
		// is the password "0123"; typing it as the sops tool does (int 83) would change it.
		v := plainValue{l.node.Value, "str"}
		mac.Write([]byte(v.text))
		tok, err := encryptValue(v, key, l.path)
		if err != nil {
			return nil, err
		}
		edits = append(edits, sealedEdit(l, tok))
	}
	if m.MAC, err = encryptValue(plainValue{fmt.Sprintf("%X", mac.Sum(nil)), "str"}, key, m.macAAD()); err != nil {
		return nil, err
	}
	return appendSection(name, data, edits, m)
}

// appendSection splices the encrypted values in and appends the metadata.
func appendSection(name string, data []byte, edits []edit, m *metadata) ([]byte, error) {
	out, err := splice(data, edits, nil)
	if err == nil {
		err = verify(out, EncryptedRegex, edits)
	}
	if err != nil {
		return nil, wrapName(name, err)
	}
	section, err := m.encode()
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, section...), nil
}

// open parses a file and, when it has a sops section, its metadata and
// the values its rule encrypts.
func open(name string, data []byte) (*document, *metadata, []leaf, error) {
	if !mayHaveSection(data) {
		return &document{}, nil, nil, nil
	}
	d, err := parseDocument(name, data)
	if err != nil || d.sops == nil {
		return d, nil, nil, err
	}
	m, err := decodeMetadata(d.sops)
	if err != nil {
		return nil, nil, nil, &Error{File: name, Line: d.sopsKey.Line, Kind: Broken, Msg: err.Error(), Err: err}
	}
	leaves, err := d.leaves(regexp.MustCompile(m.EncryptedRegex))
	return d, m, leaves, wrapName(name, err)
}

// verify parses the spliced file again and checks that exactly the edited
// values changed to what they should be: a splice that misread the
// operator's layout fails here instead of writing a corrupt file.
func verify(out []byte, rule string, edits []edit) error {
	d, err := parseDocument("", out)
	if err != nil {
		return fault(Layout, 0, "the rewritten file does not parse: %v", err)
	}
	leaves, err := d.leaves(regexp.MustCompile(rule))
	if err != nil {
		return err
	}
	if len(leaves) != len(edits) {
		return fault(Layout, 0, "the rewritten file has other values to encrypt than the original")
	}
	for i, e := range edits {
		if l := leaves[i].node; l.Line != e.node.Line || l.Value != e.want {
			return fault(Layout, e.node.Line, "the value could not be rewritten in place")
		}
	}
	return nil
}

func newMAC() hash.Hash {
	h := sha512.New()
	h.Write(macOnlyEncryptedInit)
	return h
}

// dotted turns an additional-data path ("opts:pwd:") into "opts.pwd:".
func dotted(path string) string {
	return strings.ReplaceAll(strings.TrimSuffix(path, ":"), ":", ".") + ":"
}
