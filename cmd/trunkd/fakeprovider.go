package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// cmdFakeProvider runs a loopback SIP registrar for demos and tests until
// ctx ends.
func cmdFakeProvider(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeprovider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:5090", "UDP and TCP address to listen on")
	usersFile := fs.String("users", "", "users file: users: [{username, password}] (required)")
	realm := fs.String("realm", "trunkd.test", "digest realm")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *usersFile == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: trunkd fakeprovider --listen ADDR --users FILE [--realm R] [-v]")
		return exitUsage
	}
	users, err := fakeprovider.LoadUsers(*usersFile)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd fakeprovider:", err)
		return exitUsage
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	fp, err := fakeprovider.New(fakeprovider.Config{Realm: *realm, Users: users,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		fmt.Fprintln(stderr, "trunkd fakeprovider:", err)
		return exitFailure
	}
	if err := fp.Listen(*listen); err != nil {
		fmt.Fprintln(stderr, "trunkd fakeprovider:", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "fakeprovider listening on udp and tcp %s (realm %s, %d users)\n", fp.Addr(), *realm, len(users))
	if err := fp.Serve(ctx); err != nil {
		fmt.Fprintln(stderr, "trunkd fakeprovider:", err)
		return exitFailure
	}
	return exitOK
}
