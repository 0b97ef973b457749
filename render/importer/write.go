package importer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// WriteOptions tune Write.
type WriteOptions struct {
	// Force replaces a file of the same name (never a file holding another
	// provider's code under another name).
	Force bool
}

// Written is one provider file Write created.
type Written struct {
	Code string
	Path string
}

// Write writes one file per trunk into dir (created when missing), each
// re-read with registry.Parse before it is written, atomically and with
// mode 0600 (it holds a password). A trunk whose file exists (without
// opts.Force), or whose code another provider file in dir already
// defines, is not written and reported as an Error issue.
func Write(dir string, trunks []*Trunk, opts WriteOptions) ([]Written, []Issue, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create output directory: %w", err)
	}
	existing, err := existingCodes(dir)
	if err != nil {
		return nil, nil, err
	}
	var out []Written
	var issues []Issue
	taken := map[string]string{} // lower-case file name → code, within this run
	for _, t := range trunks {
		code := t.Provider.Code
		name := registry.FileName(code)
		if other, dup := taken[strings.ToLower(name)]; dup {
			issues = append(issues, Issue{File: filepath.Join(dir, name), Trunk: code, Severity: Error, Msg: fmt.Sprintf("not written: its file name is also the file of %q (on a case-insensitive file system)", other)})
			continue
		}
		taken[strings.ToLower(name)] = code
		path := filepath.Join(dir, name)
		if f, ok := existing[code]; ok && (f != name || !opts.Force) {
			issues = append(issues, Issue{File: filepath.Join(dir, f), Trunk: code, Severity: Error, Msg: "not written: this file already defines the code (use --force to replace a file of the same name)"})
			continue
		}
		data, err := t.YAML(EncodeOptions{})
		if err == nil {
			err = checkRoundTrip(name, data, &t.Provider)
		}
		if err == nil {
			err = writeNew(dir, name, data, opts)
		}
		if err != nil {
			issues = append(issues, Issue{File: path, Trunk: code, Severity: Error, Msg: "not written: " + err.Error()})
			continue
		}
		out = append(out, Written{Code: code, Path: path})
	}
	return out, issues, nil
}

// existingCodes maps the code of every valid provider file in dir to its
// file name.
func existingCodes(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read output directory: %w", err)
	}
	codes := map[string]string{}
	for _, e := range entries { // sorted by name: the first file of a code wins
		n := e.Name()
		if !registry.IsProviderFile(n) || !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		if p, err := registry.Parse(n, data); err == nil {
			if _, dup := codes[p.Code]; !dup {
				codes[p.Code] = n
			}
		}
	}
	return codes, nil
}

// checkRoundTrip parses the encoded file the way the daemon will and
// checks that it holds exactly the provider.
func checkRoundTrip(name string, data []byte, want *registry.Provider) error {
	got, err := registry.Parse(name, data)
	if err != nil {
		return fmt.Errorf("the encoded file does not parse: %w", err)
	}
	for _, f := range registry.Fields {
		if !strings.HasPrefix(f.Path, "ext.") && f.Text(&got) != f.Text(want) {
			return fmt.Errorf("the encoded file changes %s", f.Path)
		}
	}
	return nil
}

// writeNew writes dir/name atomically with the registry's own file writer;
// without opts.Force an existing file is never replaced.
func writeNew(dir, name string, data []byte, opts WriteOptions) error {
	write := registry.CreateFile
	if opts.Force {
		write = registry.ReplaceFile
	}
	err := write(dir, name, data)
	if errors.Is(err, os.ErrExist) {
		return errors.New("the file exists (use --force to replace it)")
	}
	return err
}
