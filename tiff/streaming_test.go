package tiff

import (
	"bytes"
	"encoding/binary"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/faxkit/faxkit/t4"

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
	data := writeSame(t, &WriterConfig{Compression: CompressionGroup4}, page, 200)

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

// onlyReader hides everything but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// A 200-page document read from a plain io.Reader, page by page, holds
// about one page at a time.
func TestStreamReader(t *testing.T) {
	page := synthPage(1728, 400, 3)
	data := writeSame(t, &WriterConfig{Compression: CompressionGroup4}, page, 200)

	r, err := NewStreamReader(onlyReader{bytes.NewReader(data)}, nil)
	require.NoError(t, err)
	n := 0
	maxBuf := 0
	for p, err := range r.Pages() {
		require.NoError(t, err)
		b, err := p.Bitmap()
		require.NoError(t, err)
		require.Empty(t, diffBitmaps(page, b), "page %d", n)
		maxBuf = max(maxBuf, cap(r.stream.buf))
		n++
	}
	require.Equal(t, 200, n)
	require.Less(t, maxBuf, 128<<10, "buffer of a %d-byte file", len(data))
	t.Logf("file %d bytes, stream buffer at most %d bytes", len(data), maxBuf)
}

func TestStreamReaderPeerFiles(t *testing.T) {
	// libtiff's layout (IFD after each page's strips) streams too, and so
	// do the non-fax pages decoded through x/image/tiff's view.
	for _, name := range []string{"g4.tif", "g3-2d-fill.tif", "rle.tif", "bigtiff-g4.tif", "grey-lzw.tif", "grey-jpeg.tif", "palette-lzw.tif"} {
		t.Run(name, func(t *testing.T) {
			data := readFile(t, filepath.Join("testdata", "peers", name))
			want, _ := readDoc(t, data)
			r, err := NewStreamReader(onlyReader{bytes.NewReader(data)}, nil)
			require.NoError(t, err)
			i := 0
			for p, err := range r.Pages() {
				require.NoError(t, err)
				b, err := p.Bitmap()
				require.NoError(t, err)
				require.Empty(t, diffBitmaps(want[i], b))
				i++
			}
			require.Equal(t, len(want), i)
		})
	}
}

func TestStreamReaderRefusesBackwardOffsets(t *testing.T) {
	// Page 3's strip moved back to page 1's data, which the stream has
	// dropped once page 2 was reached: a seekable reader copes, a stream
	// cannot go back.
	valid := writeDoc(t, &WriterConfig{Compression: CompressionGroup4}, []*t4.Bitmap{synthPage(64, 8, 1), synthPage(64, 8, 2), synthPage(64, 8, 3)}, nil)
	offs := ifdOffsets(t, valid)
	d := append([]byte(nil), valid...)
	e := entryAt(t, d, offs[2], tagStripOffsets)
	binary.LittleEndian.PutUint32(d[e+8:], 8) // page 1's data
	require.NoError(t, readAll(d, nil))
	r, err := NewStreamReader(onlyReader{bytes.NewReader(d)}, nil)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		p, err := r.Next()
		require.NoError(t, err)
		_, err = p.Bitmap()
		require.NoError(t, err)
	}
	p, err := r.Next()
	require.NoError(t, err)
	_, err = p.Bitmap()
	require.ErrorIs(t, err, ErrUnsupported)

	_, err = NewStreamReader(onlyReader{bytes.NewReader(valid)}, &ReaderConfig{Limits: Limits{MaxStreamBuffer: 64}})
	require.NoError(t, err) // the header fits
	r, _ = NewStreamReader(onlyReader{bytes.NewReader(valid)}, &ReaderConfig{Limits: Limits{MaxStreamBuffer: 64}})
	_, err = r.Next()
	require.ErrorIs(t, err, ErrTooLarge)
}
