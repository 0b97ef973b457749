package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/sops"
)

// cmdValidate checks every provider file of a directory (or the files
// given) as the daemon would load them and prints file:line: field: problem
// for each error. Provider files in subdirectories, which the daemon
// ignores, are reported too: a trunk put there would silently not exist.
func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: trunkd validate DIR|FILE...")
		return exitUsage
	}
	files, ignored, err := providerFiles(args)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd validate:", err)
		return exitUsage
	}
	bad := 0
	check := registry.NewChecker()
	for _, f := range files {
		if !validateFile(check, f, stdout) {
			bad++
		}
	}
	for _, f := range ignored {
		fmt.Fprintf(stdout, "%s: ignored: the daemon loads provider files from the top of the directory only, not from subdirectories\n", f)
	}
	if bad+len(ignored) > 0 {
		fmt.Fprintf(stderr, "%d of %d provider files invalid, %d in subdirectories\n", bad, len(files), len(ignored))
		return exitFailure
	}
	fmt.Fprintf(stderr, "%d provider files valid\n", len(files))
	return exitOK
}

// validateFile checks one provider file as the daemon would load it and
// prints its problems on w; it reports whether the file is valid.
func validateFile(check *registry.Checker, f string, w io.Writer) bool {
	data, err := registry.ReadFile(f) // a FIFO named x.yaml must not hang validate
	if err != nil {
		fmt.Fprintf(w, "%s: cannot read: %v\n", f, err)
		return false
	}
	if data, err = secretsPlaintext(f, data); err != nil {
		fmt.Fprintln(w, err)
		return false
	}
	probs := check.Check(f, data)
	for _, pr := range probs {
		fmt.Fprintln(w, pr.Error())
	}
	return len(probs) == 0
}

// secretsPlaintext is what `trunkd validate` checks of a provider file: a
// SOPS file decrypted (MAC included) when an age identity is found where
// the sops tool looks, otherwise checked without the key and validated with
// everything but the password; a plaintext file as it is.
func secretsPlaintext(name string, data []byte) ([]byte, error) {
	if !sops.IsEncrypted(data) {
		return data, nil
	}
	ids, err := sops.LoadIdentities("")
	if errors.Is(err, sops.ErrNoIdentity) {
		return sops.Strip(name, data)
	}
	if err != nil {
		return nil, err
	}
	return sops.Decrypt(name, data, ids)
}

// providerFiles expands directories to their provider files (sorted, the
// same selection the daemon makes) and keeps explicit files as given. It
// also lists the provider file names found in subdirectories (hidden ones
// such as .git skipped), which the daemon ignores.
func providerFiles(args []string) (files, ignored []string, err error) {
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries { // sorted by name
			switch {
			case e.IsDir() && !strings.HasPrefix(e.Name(), "."):
				sub, err := nestedProviderFiles(filepath.Join(a, e.Name()))
				if err != nil {
					return nil, nil, err
				}
				ignored = append(ignored, sub...)
			case registry.IsProviderFile(e.Name()):
				files = append(files, filepath.Join(a, e.Name()))
			}
		}
	}
	return files, ignored, nil
}

// nestedProviderFiles lists the provider file names below dir.
func nestedProviderFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != dir:
			return filepath.SkipDir
		case !d.IsDir() && registry.IsProviderFile(d.Name()):
			out = append(out, path)
		}
		return nil
	})
	return out, err
}
