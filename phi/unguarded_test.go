package phi

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/phi/audit"
	"github.com/stretchr/testify/require"
)

// TestStoreContentNeedsAuditedOperator: a Store opened without an audit
// log hands out no content (only a Guard does); opened as an audited
// operator it does, and each call is in the log under that operator.
func TestStoreContentNeedsAuditedOperator(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, strings.NewReader("page"))
	require.NoError(t, err)

	_, err = f.store.Open(ctx, info.ID)
	require.ErrorIs(t, err, ErrUnguarded)
	_, err = f.store.Metadata(ctx, info.ID)
	require.ErrorIs(t, err, ErrUnguarded)
	_, err = f.store.Get(ctx, info.ID, io.Discard)
	require.ErrorIs(t, err, ErrUnguarded)
	_, err = f.store.Put(ctx, testMeta, strings.NewReader("x"))
	require.ErrorIs(t, err, ErrUnguarded)
	_, err = f.store.Create(ctx, testMeta)
	require.ErrorIs(t, err, ErrUnguarded)
	require.NoError(t, f.store.Verify(ctx, info.ID), "maintenance needs no operator")

	op, err := OpenStore(ctx, StoreConfig{Dir: f.store.dir[:len(f.store.dir)-len(docsDir)-1], Keys: f.store.keys, Clock: f.clock,
		Audit: f.log, Operator: "custodian"})
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = op.Get(ctx, info.ID, &b)
	require.NoError(t, err)
	require.Equal(t, "page", b.String())
	w, err := op.Create(ctx, testMeta)
	require.NoError(t, err)
	p, err := w.NewPage()
	require.NoError(t, err)
	io.WriteString(p, "q")
	require.NoError(t, p.Close())
	made, err := w.Commit()
	require.NoError(t, err)

	var reads, creates int
	for _, e := range f.events(t) {
		if e.Principal != "custodian" {
			continue
		}
		require.Equal(t, "unguarded", e.Detail)
		switch {
		case e.Action == audit.ActionReadContent && e.Document == info.ID:
			reads++
		case e.Action == audit.ActionCreate && e.Document == made.ID:
			creates++
		}
	}
	require.Equal(t, 1, reads)
	require.Equal(t, 1, creates)

	// No audit, no content: a closed log refuses the read.
	require.NoError(t, f.log.Close())
	_, err = op.Open(ctx, info.ID)
	require.ErrorIs(t, err, audit.ErrClosed)
}
