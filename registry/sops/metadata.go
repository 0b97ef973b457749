package sops

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"gopkg.in/yaml.v3"
)

// EncryptedRegex is the rule of every file trunkd encrypts: only pwd.
const EncryptedRegex = "^pwd$"

// FormatVersion is the sops release whose file format trunkd writes and was
// tested against.
const FormatVersion = "3.13.3"

// metadata is the `sops:` section, the age-only subset. Every other key
// source or rule is refused by check, so that a file is never half
// understood.
type metadata struct {
	Age              []ageKey `yaml:"age"`
	LastModified     string   `yaml:"lastmodified"`
	MAC              string   `yaml:"mac"`
	EncryptedRegex   string   `yaml:"encrypted_regex"`
	MACOnlyEncrypted bool     `yaml:"mac_only_encrypted"`
	Version          string   `yaml:"version"`
}

// ageKey is one recipient and the data key encrypted for it.
type ageKey struct {
	Recipient string `yaml:"recipient"`
	Enc       string `yaml:"enc"`
}

// known are the metadata keys the age-only subset reads; key sources of
// other kinds with an empty value are tolerated (older sops writes them).
var known = map[string]bool{"age": true, "lastmodified": true, "mac": true,
	"encrypted_regex": true, "mac_only_encrypted": true, "version": true}

// decodeMetadata reads and checks the sops section.
func decodeMetadata(n *yaml.Node) (*metadata, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errors.New("sops: not a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !known[k.Value] && !isEmptyNode(v) {
			return nil, fmt.Errorf("sops.%s (line %d): not supported; trunkd reads age keys with encrypted_regex and mac_only_encrypted only", k.Value, k.Line)
		}
	}
	var m metadata
	if err := n.Decode(&m); err != nil {
		return nil, fmt.Errorf("sops: %w", err)
	}
	return &m, m.check()
}

func isEmptyNode(n *yaml.Node) bool {
	return (n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!null" || n.Value == "")) ||
		((n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && len(n.Content) == 0)
}

// check refuses what the subset does not cover, naming the key.
func (m *metadata) check() error {
	switch {
	case len(m.Age) == 0:
		return errors.New("sops.age: no age recipient")
	case m.EncryptedRegex == "":
		return errors.New("sops.encrypted_regex: required (trunkd encrypts only pwd: ^pwd$)")
	case !m.MACOnlyEncrypted:
		return errors.New("sops.mac_only_encrypted: must be true, so that edits of other fields keep the MAC valid")
	case !strings.HasPrefix(m.MAC, "ENC["):
		return errors.New("sops.mac: missing")
	}
	if _, err := regexp.Compile(m.EncryptedRegex); err != nil {
		return fmt.Errorf("sops.encrypted_regex: %w", err)
	}
	if _, err := time.Parse(time.RFC3339, m.LastModified); err != nil {
		return fmt.Errorf("sops.lastmodified: %w", err)
	}
	for i, k := range m.Age {
		if _, err := age.ParseX25519Recipient(k.Recipient); err != nil {
			return fmt.Errorf("sops.age[%d].recipient: %w", i, err)
		}
		if !strings.Contains(k.Enc, "BEGIN AGE ENCRYPTED FILE") {
			return fmt.Errorf("sops.age[%d].enc: not an armored age file", i)
		}
	}
	return nil
}

// macAAD is the additional data of the MAC: lastmodified as RFC 3339.
func (m *metadata) macAAD() string {
	t, _ := time.Parse(time.RFC3339, m.LastModified) // checked in check
	return t.Format(time.RFC3339)
}

// dataKey decrypts the data key with the first identity that matches one
// of the file's recipients.
func (m *metadata) dataKey(ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, ErrNoIdentity
	}
	recipients := make([]string, 0, len(m.Age))
	for _, k := range m.Age {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(k.Enc)), ids...)
		if err != nil {
			recipients = append(recipients, k.Recipient)
			continue
		}
		key, err := io.ReadAll(io.LimitReader(r, 64))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("sops.age data key for %s: not 32 bytes", k.Recipient)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w matches the file's recipients %s", ErrNoIdentity, strings.Join(recipients, ", "))
}

// newMetadata encrypts a fresh data key for the recipients.
func newMetadata(recipients []Recipient, now time.Time) (*metadata, []byte, error) {
	if len(recipients) == 0 {
		return nil, nil, errors.New("secrets.age_recipients: no recipient to encrypt for")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("sops data key: %w", err)
	}
	m := &metadata{LastModified: now.UTC().Format(time.RFC3339), EncryptedRegex: EncryptedRegex,
		MACOnlyEncrypted: true, Version: FormatVersion}
	for _, r := range recipients {
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, r.key)
		if err == nil {
			_, err = w.Write(key)
		}
		if err == nil {
			err = errors.Join(w.Close(), aw.Close())
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sops: encrypt the data key for %s: %w", r, err)
		}
		m.Age = append(m.Age, ageKey{Recipient: r.text, Enc: strings.TrimRight(buf.String(), "\n") + "\n"})
	}
	return m, key, nil
}

// encode writes the section as the sops tool lays it out (4 spaces).
func (m *metadata) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	err := enc.Encode(map[string]*metadata{"sops": m})
	if err == nil {
		err = enc.Close()
	}
	return buf.Bytes(), err
}
