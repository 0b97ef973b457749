package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// startDemo starts what the demo section asks for. The fake provider is
// started before the prober so the first checks find it.
func startDemo(ctx context.Context, d *daemon, stdout io.Writer, opts *api.Options) error {
	if fc := d.cfg.Demo.FakeProvider; fc.Listen != "" {
		users, err := fakeprovider.LoadUsers(fc.UsersFile)
		if err != nil {
			return fmt.Errorf("demo fake provider: %w", err)
		}
		fp, err := fakeprovider.New(fakeprovider.Config{Realm: fc.Realm, Users: users, Logger: d.log.With("component", "fakeprovider")})
		if err != nil {
			return fmt.Errorf("demo fake provider: %w", err)
		}
		if err := fp.Listen(fc.Listen); err != nil {
			return fmt.Errorf("demo fake provider: %w", err)
		}
		d.goRun("fakeprovider", func() error { return fp.Serve(ctx) })
		fmt.Fprintf(stdout, "demo SIP provider listening on udp and tcp %s\n", fp.Addr())
	}
	if d.cfg.Demo.AdminToken {
		secret, tok, err := newAdminToken()
		if err != nil {
			return err
		}
		if opts.Tokens, err = opts.Tokens.With(tok); err != nil {
			return fmt.Errorf("demo admin token: %w", err)
		}
		fmt.Fprintf(stdout, "demo admin token for this run (printed once): %s\n", secret)
	}
	return nil
}

// demoTokenName names the demo run's admin token (in logs, and so that a
// config reload keeps it).
const demoTokenName = "demo-run"

// newAdminToken makes a random 24-byte token for the demo run's admin.
func newAdminToken() (string, api.Token, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", api.Token{}, fmt.Errorf("demo admin token: %w", err)
	}
	secret := hex.EncodeToString(b[:])
	return secret, api.Token{Name: demoTokenName, Role: api.RoleAdmin, SHA256: sha256.Sum256([]byte(secret))}, nil
}
