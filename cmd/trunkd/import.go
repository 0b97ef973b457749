package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/render/importer"
)

// importArgs are the parsed flags of `trunkd import`.
type importArgs struct {
	from        string
	out         string
	dryRun      bool
	force       bool
	serverIndex int
	vars        []string
	files       []string
}

// cmdImport reads Asterisk pjsip.conf or FreeSWITCH gateway files and
// writes one provider file per trunk. Every issue goes to stderr as
// file:line: trunk: severity: message; exit 1 when anything could not be
// imported or written, 2 on usage or read errors.
func cmdImport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	a, ok := parseImportArgs(args, stderr)
	if !ok {
		return exitUsage
	}
	files, err := readSources(a.files)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd import:", err)
		return exitUsage
	}
	opts := importer.Options{ServerIndex: a.serverIndex, Vars: map[string]string{}}
	for _, path := range a.vars {
		src, err := readSources([]string{path})
		if err != nil {
			fmt.Fprintln(stderr, "trunkd import:", err)
			return exitUsage
		}
		vars, issues := importer.ParseFreeSWITCHVars(src[0])
		printIssues(stderr, issues)
		maps.Copy(opts.Vars, vars)
	}
	res, err := importer.Import(a.from, files, opts)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd import:", err)
		return exitUsage
	}
	printIssues(stderr, res.Issues)
	if a.dryRun {
		return importDryRun(res, stdout, stderr)
	}
	return importWrite(a, res, stdout, stderr)
}

// importWrite writes the imported trunks into a.out. A trunk whose file
// already exists is skipped with that reason and counted as skipped, not
// as an error (running the same import twice changes nothing), unless
// --force; what Write refuses or fails to write is an error. Exit 1 when
// any trunk ends up not written: skipped, refused or not imported.
func importWrite(a importArgs, res *importer.Result, stdout, stderr io.Writer) int {
	trunks, skipped := skipExisting(a, res.Trunks)
	for _, s := range skipped {
		fmt.Fprintln(stderr, s)
	}
	written, issues, err := importer.Write(a.out, trunks, importer.WriteOptions{Force: a.force})
	if err != nil {
		fmt.Fprintln(stderr, "trunkd import:", err)
		return exitUsage
	}
	printIssues(stderr, issues)
	for _, w := range written {
		fmt.Fprintln(stdout, w.Path)
	}
	c := importCounts{written: len(written), skipped: len(skipped), writeErrors: len(issues)}
	summary(stderr, res, c, "into "+a.out)
	if res.Failed() || c.skipped > 0 || c.writeErrors > 0 {
		return exitFailure
	}
	if c.written > 0 {
		fmt.Fprintln(stderr, "next: review the commented values, then run trunkd validate on the directory")
	}
	return exitOK
}

// skipExisting keeps the trunks to write and describes, one line each, the
// trunks skipped because their file exists in the output directory.
func skipExisting(a importArgs, trunks []*importer.Trunk) (keep []*importer.Trunk, skipped []string) {
	if a.force {
		return trunks, nil
	}
	for _, t := range trunks {
		path := filepath.Join(a.out, registry.FileName(t.Provider.Code))
		if _, err := os.Lstat(path); err == nil {
			skipped = append(skipped, fmt.Sprintf("%s: %s: skipped: the file exists (--force replaces it)", path, t.Provider.Code))
			continue
		}
		keep = append(keep, t)
	}
	return keep, skipped
}

// parseImportArgs parses import's command line (flags may follow the
// files); on a mistake it prints the usage and reports false.
func parseImportArgs(args []string, stderr io.Writer) (importArgs, bool) {
	var a importArgs
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.from, "from", "", "source format: asterisk (pjsip.conf) or freeswitch (gateway XML)")
	fs.StringVar(&a.out, "out", "", "directory for the provider files (created when missing)")
	fs.BoolVar(&a.dryRun, "dry-run", false, "print the provider files to stdout (pwd redacted) instead of writing them")
	fs.BoolVar(&a.force, "force", false, "replace provider files of the same name in --out")
	fs.IntVar(&a.serverIndex, "server-index", -1, "serveridx of every imported provider (default: 0, marked in the file)")
	fs.Func("vars", "FreeSWITCH vars.xml with <X-PRE-PROCESS cmd=\"set\"> lines for $${name} references (repeatable)", func(v string) error {
		a.vars = append(a.vars, v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trunkd import --from asterisk|freeswitch [--out DIR | --dry-run] [--server-index N] [--force] [--vars vars.xml] FILE...")
		fs.PrintDefaults()
	}
	// Flags may come after the files: parse, take a file, parse again.
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return a, false
		}
		if fs.NArg() == 0 {
			break
		}
		a.files = append(a.files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if msg := a.problem(); msg != "" {
		fmt.Fprintln(stderr, "trunkd import:", msg)
		fs.Usage()
		return a, false
	}
	return a, true
}

// problem says what is wrong with the command line, or "" when nothing is.
func (a importArgs) problem() string {
	switch {
	case a.from != "asterisk" && a.from != "freeswitch":
		return "--from asterisk or --from freeswitch is required"
	case len(a.files) == 0:
		return "give at least one FILE to import"
	case a.out == "" && !a.dryRun:
		return "--out DIR is required (or --dry-run)"
	case a.out != "" && a.dryRun:
		return "--dry-run writes nothing: drop --out"
	case len(a.vars) > 0 && a.from != "freeswitch":
		return "--vars is for --from freeswitch"
	}
	return ""
}

func readSources(paths []string) ([]importer.Source, error) {
	var out []importer.Source
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		out = append(out, importer.Source{Name: p, Data: data})
	}
	return out, nil
}

// importDryRun prints every provider file, passwords redacted.
func importDryRun(res *importer.Result, stdout, stderr io.Writer) int {
	for i, t := range res.Trunks {
		data, err := t.YAML(importer.EncodeOptions{RedactPassword: true})
		if err != nil {
			fmt.Fprintln(stderr, "trunkd import:", err)
			return exitFailure
		}
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		fmt.Fprintf(stdout, "# file: %s\n%s", registry.FileName(t.Provider.Code), data)
	}
	summary(stderr, res, importCounts{written: len(res.Trunks)}, "(dry run, nothing written)")
	if res.Failed() {
		return exitFailure
	}
	return exitOK
}

func printIssues(w io.Writer, issues []importer.Issue) {
	for _, i := range issues {
		fmt.Fprintln(w, i.String())
	}
}

// importCounts are the outcome of writing the imported trunks.
type importCounts struct {
	written     int // files written (or printed, in a dry run)
	skipped     int // trunks whose file already existed
	writeErrors int // trunks Write refused or failed to write
}

// summary prints one line: how many trunks were written, skipped and not
// imported, and how many issues of each kind; write errors count as
// errors.
func summary(w io.Writer, res *importer.Result, c importCounts, where string) {
	line := fmt.Sprintf("trunkd import: %d of %d trunks imported %s", c.written, len(res.Trunks)+len(res.NotImported), where)
	if c.skipped > 0 {
		line += fmt.Sprintf("; %d skipped: file exists (--force replaces it)", c.skipped)
	}
	if c.writeErrors > 0 {
		line += fmt.Sprintf("; %d not written", c.writeErrors)
	}
	if len(res.NotImported) > 0 {
		line += fmt.Sprintf("; not imported: %s", strings.Join(res.NotImported, ", "))
	}
	line += fmt.Sprintf("; %d errors, %d warnings, %d notes", res.Count(importer.Error)+c.writeErrors, res.Count(importer.Warning), res.Count(importer.Note))
	fmt.Fprintln(w, line)
}
