package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/sops"
)

// cmdSecrets dispatches `trunkd secrets SUBCOMMAND`.
func cmdSecrets(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "encrypt" {
		fmt.Fprintln(stderr, "usage: trunkd secrets encrypt [--age RECIPIENT,...] DIR|FILE...")
		return exitUsage
	}
	return cmdSecretsEncrypt(ctx, args[1:], stdout, stderr)
}

// cmdSecretsEncrypt encrypts the pwd of every plaintext provider file in
// place (SOPS, age, only pwd), for the recipients of --age or, as the sops
// tool, SOPS_AGE_RECIPIENTS. Encrypted files and files without pwd are
// left as they are.
func cmdSecretsEncrypt(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("secrets encrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ageList := fs.String("age", os.Getenv("SOPS_AGE_RECIPIENTS"), "comma-separated age recipients (default $SOPS_AGE_RECIPIENTS)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: trunkd secrets encrypt [--age RECIPIENT,...] DIR|FILE...")
		return exitUsage
	}
	recipients, err := sops.ParseRecipients(splitList(*ageList))
	if err == nil && len(recipients) == 0 {
		err = errors.New("no age recipient: give --age or set SOPS_AGE_RECIPIENTS")
	}
	if err != nil {
		fmt.Fprintln(stderr, "trunkd secrets encrypt:", err)
		return exitUsage
	}
	files, _, err := providerFiles(fs.Args()) // as the daemon: files in subdirectories are not providers
	if err != nil {
		fmt.Fprintln(stderr, "trunkd secrets encrypt:", err)
		return exitUsage
	}
	failed := 0
	for _, f := range files {
		msg, err := encryptFile(f, recipients)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", f, msg)
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}

// encryptFile encrypts one file in place, atomically.
func encryptFile(path string, recipients []sops.Recipient) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	enc, err := sops.Encrypt(path, data, recipients, time.Now())
	switch {
	case errors.Is(err, sops.ErrEncrypted):
		return "already encrypted", nil
	case err != nil:
		return "", err
	case string(enc) == string(data):
		return "no password, unchanged", nil
	}
	if err := registry.ReplaceFile(filepath.Dir(path), filepath.Base(path), enc); err != nil {
		return "", err
	}
	return "pwd encrypted", nil
}

// newSecrets is the registry's codec for the secrets: section: SOPS files
// are decrypted, what the API writes is encrypted for
// secrets.age_recipients. On a plain directory (no git: section) a write
// without recipients keeps pwd in clear, as it always did: allow_plaintext
// is implied. When trunkd commits to git, a password without recipients is
// refused unless secrets.allow_plaintext is set.
func newSecrets(c sops.Config, git bool, clock sops.Clock) (*sops.Codec, error) {
	c.AllowPlaintext = c.AllowPlaintext || !git
	codec, err := sops.New(c, clock)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return codec, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
