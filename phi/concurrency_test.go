package phi

import (
	"bytes"
	"context"
	"fmt"
	"github.com/faxkit/faxkit/phi/audit"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentUse exercises the Store, AuditLog and Policy from many
// goroutines (run with -race): every document written is read back intact
// and the audit log still verifies with one record per append.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	const workers, perWorker = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			who := Principal{ID: fmt.Sprintf("sender-%d", w), Roles: []Role{RoleSender}}
			for i := 0; i < perWorker; i++ {
				body := bytes.Repeat([]byte{byte(w), byte(i)}, 3000)
				info, err := f.g.Put(ctx, who, "s", testMeta, bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				d, err := f.g.Open(ctx, who, "s", info.ID)
				if err != nil {
					errs <- err
					return
				}
				var got bytes.Buffer
				_, err = got.ReadFrom(d)
				d.Close()
				if err != nil || !bytes.Equal(got.Bytes(), body) {
					errs <- fmt.Errorf("worker %d doc %d: read back %d bytes, %v", w, i, got.Len(), err)
					return
				}
				if i%2 == 0 {
					if err := f.g.Delete(ctx, who, "s", info.ID); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	l, err := f.store.List(ctx)
	require.NoError(t, err)
	require.Len(t, l, workers*(perWorker/2))
	require.NoError(t, f.log.Close())
	rep, err := audit.Verify(f.dir, f.keys)
	require.NoError(t, err)
	// Put, Open and Delete each write a decision and an outcome record.
	require.Equal(t, uint64(workers*perWorker*4+workers*((perWorker+1)/2)*2), rep.Records)
}
