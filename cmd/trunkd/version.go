package main

// What every subcommand reports: the version and the exit code.

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes of every subcommand.
const (
	exitOK      = 0 // done; validate: every file valid
	exitFailure = 1 // the command failed; validate: a file is invalid
	exitUsage   = 2 // bad command line or config file
)
