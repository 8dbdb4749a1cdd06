package tiff

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// A 200-page document is walked reading only its IFDs, and each page's
// data is read only when that page is decoded.
func TestReaderStreamsPages(t *testing.T) {
	page := synthPage(1728, 400, 3)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
	require.NoError(t, err)
	for i := 0; i < 200; i++ {
		require.NoError(t, w.WritePage(page, nil))
	}
	require.NoError(t, w.Close())
	data := buf.Bytes()

	cr := &countingReaderAt{r: bytes.NewReader(data)}
	r, err := NewReader(cr, int64(len(data)), nil)
	require.NoError(t, err)
	var pages []*Page
	for p, err := range r.Pages() {
		require.NoError(t, err)
		pages = append(pages, p)
	}
	require.Len(t, pages, 200)
	walked := cr.n.Load()
	require.Less(t, walked, int64(200*400), "walking 200 pages reads only IFDs (~300 bytes each), not the %d-byte file", len(data))

	before := cr.n.Load()
	b, err := pages[150].Bitmap()
	require.NoError(t, err)
	require.Empty(t, diffBitmaps(page, b))
	perPage := cr.n.Load() - before
	require.Less(t, perPage, int64(len(data)/100), "decoding one page reads about one page's data")
	t.Logf("file %d bytes; walking 200 IFDs read %d bytes; decoding one page read %d", len(data), walked, perPage)
}
