package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLoopback runs the example end to end: the call, the sealed store,
// the pixel check, the export and the audit trail.
func TestLoopback(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, config{pages: 2, ecm: true, dir: dir}), out.String())
	s := out.String()
	for _, want := range []string{
		"page 1 sent:", "page 2 sent:", "page 1 received:", "page 2 received:",
		"sender:   ok", "receiver: ok, 2 page(s)",
		"stored sealed: document", "auditor reading the fax: refused",
		"verified: all 2 stored pages match the sent pages pixel for pixel",
		"exported the received fax to",
		"fax-gateway-1 receive", "compliance-1  read-content", "denied",
	} {
		require.Contains(t, s, want)
	}
	// Idents (fictitious fax numbers) never reach the output or the log,
	// in any spacing. (Not a bare "555": a random document ID in hex may
	// contain it, and did once in CI.)
	for _, ident := range []string{"+1 555 0100", "+1 555 0199", "15550100", "15550199", "555 01"} {
		require.NotContains(t, s, ident)
	}
	// The received fax is on disk only sealed: no page image in clear in
	// the store, whose body does not contain the TIFF header.
	seals, err := filepath.Glob(filepath.Join(dir, "store", "docs", "*.seal"))
	require.NoError(t, err)
	require.Len(t, seals, 1)
	body, err := os.ReadFile(seals[0])
	require.NoError(t, err)
	require.False(t, bytes.Contains(body, []byte("II*\x00")), "sealed body holds a clear TIFF")
	require.FileExists(t, filepath.Join(dir, "received.tif"))
	require.FileExists(t, filepath.Join(dir, "sent.tif"))
	require.True(t, strings.HasPrefix(s, "document: 2-page synthetic letter"))
}
