package auth

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/stretchr/testify/require"
)

var (
	alice = phi.Principal{ID: "alice", Roles: []phi.Role{phi.RoleSender}}
	bob   = phi.Principal{ID: "bob", Roles: []phi.Role{phi.RoleReceiver}}
)

func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// logFixture is an audit log on a fake clock, read back with events.
type logFixture struct {
	dir   string
	keys  audit.Keys
	log   *audit.Log
	clock *clock.Fake
}

func newLogFixture(t *testing.T) *logFixture {
	t.Helper()
	dir := t.TempDir()
	keys, err := audit.CreateKeyFile(filepath.Join(t.TempDir(), "audit.key"), "faxkit-test")
	require.NoError(t, err)
	clk := newFakeClock()
	log, err := audit.Open(audit.Config{Dir: dir, Keys: keys, Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	return &logFixture{dir: dir, keys: keys, log: log, clock: clk}
}

func (f *logFixture) events(t *testing.T) []audit.Event {
	t.Helper()
	require.NoError(t, f.log.Sync())
	var buf bytes.Buffer
	_, err := audit.Export(f.dir, f.keys, &buf, time.Time{}, time.Time{})
	require.NoError(t, err)
	var evs []audit.Event
	for dec := json.NewDecoder(&buf); dec.More(); {
		var e audit.Event
		require.NoError(t, dec.Decode(&e))
		evs = append(evs, e)
	}
	return evs
}
