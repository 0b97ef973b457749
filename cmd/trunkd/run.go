package main

import (
	"context"
	"fmt"
	"io"
)

// command is one trunkd subcommand.
type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "serve --config FILE [--listen ADDR] [--providers DIR]   run the daemon", cmdServe},
		{"validate", "validate DIR                                        check provider files (exit 1 on errors)", cmdValidate},
		{"render", "render --config FILE --once                         render all targets once and exit", cmdRender},
		{"probe", "probe --config FILE CODE                            one registration check and one ping", cmdProbe},
		{"import", "import --from asterisk|freeswitch FILE --out DIR        write provider files from an engine config", cmdImport},
		{"secrets", "secrets encrypt [--age RECIPIENT,...] DIR|FILE...   encrypt the passwords of provider files in place (SOPS, age)", cmdSecrets},
		{"fence", "fence --config FILE                                 run every render target's fence action (cluster: systemd ExecStopPost=)", cmdFence},
		{"fakeprovider", "fakeprovider --listen ADDR --users FILE             a loopback SIP registrar for demos and tests", cmdFakeProvider},
		{"version", "version                                             print the version", cmdVersion},
	}
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "trunkd: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: trunkd COMMAND [flags]")
	for _, c := range commands() {
		fmt.Fprintln(w, "  trunkd "+c.usage)
	}
}

func cmdVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "trunkd", version)
	return exitOK
}
