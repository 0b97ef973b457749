package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// tempMarker matches the registry's: a temporary file left by a crash is
// hidden from the registry and removed when it opens the directory.
const tempMarker = ".trunkd-tmp-"

// FileName returns the provider file name for a code: the code itself when
// it is made of letters, digits, '-', '_' and '.' (not first), else the
// code with every other character replaced by '_' and a short hash of the
// code appended, so that "a b" and "a_b" do not collide. The name never
// starts with '.', never holds a path separator and always ends in .yaml.
func FileName(code string) string {
	var b strings.Builder
	safe := code != ""
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		safe = false
		b.WriteByte('_')
	}
	base := b.String()
	if !safe {
		sum := sha256.Sum256([]byte(code))
		base = strings.Trim(base, "_.")
		if base != "" {
			base += "-"
		}
		base += hex.EncodeToString(sum[:4])
	}
	return base + ".yaml"
}

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
		name := FileName(code)
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
			err = writeNew(dir, name, data, opts.Force)
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
	var names []string
	for _, e := range entries {
		if registry.IsProviderFile(e.Name()) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
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

// writeNew writes dir/name atomically: a hidden temporary file, fsync,
// then a hard link (fails when the name exists) or, with force, a rename.
func writeNew(dir, name string, data []byte, force bool) error {
	tmp, err := os.CreateTemp(dir, "."+name+tempMarker+"*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	final := filepath.Join(dir, name)
	if !force {
		err = os.Link(tmpName, final)
		if errors.Is(err, os.ErrExist) {
			return errors.New("the file exists (use --force to replace it)")
		}
		if err != nil { // no hard links here: check, then rename
			if _, statErr := os.Lstat(final); statErr == nil {
				return errors.New("the file exists (use --force to replace it)")
			}
			force = true
		}
	}
	if force {
		err = os.Rename(tmpName, final)
	}
	if err != nil {
		return fmt.Errorf("put the file in place: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}
