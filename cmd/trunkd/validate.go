package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/trunkd/trunkd/registry"
)

// cmdValidate checks every provider file of a directory (or the files
// given) and prints file:line: field: problem for each error.
func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: trunkd validate DIR|FILE...")
		return 2
	}
	files, err := providerFiles(args)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd validate:", err)
		return 2
	}
	bad := 0
	seenCode := map[string]string{}
	seenID := map[string]string{}
	for _, f := range files {
		data, err := registry.ReadFile(f) // a FIFO named x.yaml must not hang validate
		if err != nil {
			fmt.Fprintf(stdout, "%s: cannot read: %v\n", f, err)
			bad++
			continue
		}
		if data, err = secretsPlaintext(f, data); err != nil {
			fmt.Fprintln(stdout, err)
			bad++
			continue
		}
		p, err := registry.Parse(f, data)
		var probs registry.Problems
		if errors.As(err, &probs) {
			for _, pr := range probs {
				fmt.Fprintln(stdout, pr.Error())
			}
			bad++
			continue
		}
		if p.ID == "" {
			p.ID = registry.DeriveID(p.Code)
		}
		// As the daemon: the first file by name wins, and a losing file is
		// not in force, so it claims neither its code nor its id.
		if other, dup := seenCode[p.Code]; dup {
			fmt.Fprintf(stdout, "%s: code: duplicate: %q is already defined in %s\n", f, p.Code, other)
			bad++
			continue
		}
		if other, dup := seenID[p.ID]; dup {
			fmt.Fprintf(stdout, "%s: id: duplicate: %s is already used in %s\n", f, p.ID, other)
			bad++
			continue
		}
		seenCode[p.Code], seenID[p.ID] = f, f
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "%d of %d provider files invalid\n", bad, len(files))
		return 1
	}
	fmt.Fprintf(stderr, "%d provider files valid\n", len(files))
	return 0
}

// providerFiles expands directories to their provider files (sorted, the
// same selection the daemon makes) and keeps explicit files as given.
func providerFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			if registry.IsProviderFile(e.Name()) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, filepath.Join(a, n))
		}
	}
	return out, nil
}
