package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeChecksListenFirst: with the listen port taken, serve fails
// before it prints a demo admin token or starts the demo SIP provider.
func TestServeChecksListenFirst(t *testing.T) {
	users, err := filepath.Abs(filepath.Join("..", "..", "examples", "fakeprovider-users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, busy := busyListenConfig(t, "demo:\n  admin_token: true\n  fakeprovider:\n"+
		"    listen: 127.0.0.1:0\n    users_file: "+users+"\n")
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"serve", "--config", cfg, "--listen", busy}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "listen on") {
		t.Fatalf("exit %d, stderr %q; want 1 and the listen error", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Fatalf("serve printed before failing on a busy port:\n%s", stdout.String())
	}
}
