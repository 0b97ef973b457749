package gitstore

import (
	"errors"
	"testing"
)

func TestVerifyWebhooks(t *testing.T) {
	// The example of GitHub's webhook documentation.
	secret, body := []byte("It's a Secret to Everybody"), []byte("Hello, World!")
	const sig = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"github ok", VerifyGitHub(secret, body, "sha256="+sig), nil},
		{"github no prefix", VerifyGitHub(secret, body, sig), ErrBadSignature},
		{"github other body", VerifyGitHub(secret, []byte("Hello, World?"), "sha256="+sig), ErrBadSignature},
		{"github empty secret", VerifyGitHub(nil, body, "sha256="+sig), ErrBadSignature},
		{"gitea ok", VerifyGitea(secret, body, sig), nil},
		{"gitea not hex", VerifyGitea(secret, body, "zz"), ErrBadSignature},
		{"gitea other secret", VerifyGitea([]byte("x"), body, sig), ErrBadSignature},
		{"gitlab ok", VerifyGitLab(secret, string(secret)), nil},
		{"gitlab wrong", VerifyGitLab(secret, "It's a secret to everybody"), ErrBadSignature},
		{"gitlab empty secret", VerifyGitLab(nil, ""), ErrBadSignature},
	} {
		if !errors.Is(tc.err, tc.want) || (tc.want == nil && tc.err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}
