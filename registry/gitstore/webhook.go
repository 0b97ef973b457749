package gitstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// ErrBadSignature: a webhook request's signature or token does not match
// the shared secret (the API answers 401).
var ErrBadSignature = errors.New("webhook signature does not match")

// VerifyGitHub checks GitHub's X-Hub-Signature-256 header ("sha256=" and
// the hex HMAC-SHA256 of the raw body with the webhook secret).
func VerifyGitHub(secret, body []byte, header string) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return ErrBadSignature
	}
	return VerifyGitea(secret, body, hexSig)
}

// VerifyGitLab checks GitLab's X-Gitlab-Token header, which carries the
// secret token itself.
func VerifyGitLab(secret []byte, header string) error {
	if len(secret) == 0 || subtle.ConstantTimeCompare(secret, []byte(header)) != 1 {
		return ErrBadSignature
	}
	return nil
}

// VerifyGitea checks Gitea's (and Forgejo's) X-Gitea-Signature header: the
// hex HMAC-SHA256 of the raw body with the webhook secret, no prefix,
// compared in constant time. An empty secret never verifies.
func VerifyGitea(secret, body []byte, hexSig string) error {
	got, err := hex.DecodeString(strings.TrimSpace(hexSig))
	if err != nil || len(secret) == 0 {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}
