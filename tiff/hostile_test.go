package tiff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// readAll reads every page of data with cfg and decodes it, returning the
// first error.
func readAll(data []byte, cfg *ReaderConfig) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), cfg)
	if err != nil {
		return err
	}
	for {
		p, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := p.Bitmap(); err != nil {
			return err
		}
	}
}

// ifdOffsets returns the IFD offsets of a (valid) file.
func ifdOffsets(t *testing.T, data []byte) []int64 {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
	var offs []int64
	for p, err := range r.Pages() {
		require.NoError(t, err)
		offs = append(offs, p.ifdOff)
	}
	return offs
}

// entryAt returns the offset of the IFD entry for tag in the classic
// little-endian IFD at off.
func entryAt(t *testing.T, data []byte, off int64, tag uint16) int {
	n := int(binary.LittleEndian.Uint16(data[off:]))
	for i := 0; i < n; i++ {
		e := int(off) + 2 + 12*i
		if binary.LittleEndian.Uint16(data[e:]) == tag {
			return e
		}
	}
	t.Fatalf("tag %d not found", tag)
	return 0
}

func nextAt(data []byte, off int64) int {
	return int(off) + 2 + 12*int(binary.LittleEndian.Uint16(data[off:]))
}

func TestHostileFiles(t *testing.T) {
	pages := []*t4.Bitmap{synthPage(1728, 64, 1), synthPage(1728, 64, 2)}
	valid := writeDoc(t, &WriterConfig{Compression: CompressionGroup4}, pages, nil)
	offs := ifdOffsets(t, valid)
	require.Len(t, offs, 2)
	le := binary.LittleEndian

	patch := func(f func(d []byte)) []byte {
		d := append([]byte(nil), valid...)
		f(d)
		return d
	}
	setLong := func(d []byte, page int, tag uint16, v uint32) {
		e := entryAt(t, d, offs[page], tag)
		le.PutUint16(d[e+2:], typeLong)
		le.PutUint32(d[e+4:], 1)
		le.PutUint32(d[e+8:], v)
	}
	tests := []struct {
		name string
		data []byte
		cfg  *ReaderConfig
		want error
	}{
		{"empty", nil, nil, ErrCorrupt},
		{"not TIFF", []byte("%PDF-1.4 hello there"), nil, ErrCorrupt},
		{"bad version", patch(func(d []byte) { d[2] = 41 }), nil, ErrCorrupt},
		{"header only", valid[:8], nil, ErrCorrupt},
		{"first IFD past the end", patch(func(d []byte) { le.PutUint32(d[4:], uint32(len(d)+100)) }), nil, ErrCorrupt},
		{"no IFD", patch(func(d []byte) { le.PutUint32(d[4:], 0) }), nil, ErrCorrupt},
		{"IFD cut short", valid[:offs[1]+20], nil, ErrCorrupt},
		{"absurd entry count", patch(func(d []byte) { le.PutUint16(d[offs[0]:], 0xffff) }), nil, ErrTooLarge},
		{"zero entries", patch(func(d []byte) { le.PutUint16(d[offs[0]:], 0) }), nil, ErrCorrupt},
		{"strip past the end", patch(func(d []byte) { setLong(d, 0, tagStripOffsets, uint32(len(d)+10)) }), nil, ErrCorrupt},
		{"absurd width", patch(func(d []byte) { setLong(d, 0, tagImageWidth, 0xffffffff) }), nil, ErrTooLarge},
		{"absurd height", patch(func(d []byte) { setLong(d, 0, tagImageLength, 0xffffffff) }), nil, ErrTooLarge},
		{"zero width", patch(func(d []byte) { setLong(d, 0, tagImageWidth, 0) }), nil, ErrCorrupt},
		{"decompression bomb: tiny G4 strip, huge page", patch(func(d []byte) {
			setLong(d, 0, tagImageWidth, 60000)
			setLong(d, 0, tagImageLength, 1000000)
			setLong(d, 0, tagRowsPerStrip, 1000000)
		}), nil, ErrTooLarge},
		{"decompression bomb within default limits but over a configured one", valid,
			&ReaderConfig{Limits: Limits{MaxPixels: 1728 * 63}}, ErrTooLarge},
		{"absurd strip count", patch(func(d []byte) {
			setLong(d, 0, tagRowsPerStrip, 1)
			e := entryAt(t, d, offs[0], tagStripOffsets)
			le.PutUint32(d[e+4:], 0x40000000) // count
		}), &ReaderConfig{Limits: Limits{MaxStrips: 32}}, ErrTooLarge},
		{"strip offsets short of the strips", patch(func(d []byte) {
			setLong(d, 0, tagRowsPerStrip, 1)
			// Two offsets for 64 strips (one would be read as the whole page).
			le.PutUint32(d[entryAt(t, d, offs[0], tagStripOffsets)+4:], 2)
		}), nil, ErrCorrupt},
		{"strip table past the end", patch(func(d []byte) {
			setLong(d, 0, tagRowsPerStrip, 2)
			e := entryAt(t, d, offs[0], tagStripOffsets)
			le.PutUint32(d[e+4:], 32)
			le.PutUint32(d[e+8:], uint32(len(d)-16))
		}), nil, ErrCorrupt},
		{"too many pages", valid, &ReaderConfig{Limits: Limits{MaxPages: 1}}, ErrTooLarge},
		{"uncompressed strip too short", patch(func(d []byte) {
			e := entryAt(t, d, offs[0], tagCompression)
			le.PutUint16(d[e+8:], uint16(CompressionNone))
		}), nil, ErrCorrupt},
		{"unknown compression", patch(func(d []byte) {
			e := entryAt(t, d, offs[0], tagCompression)
			le.PutUint16(d[e+8:], 12345)
		}), nil, ErrUnsupported},
		{"strict: corrupt G4 data", patch(func(d []byte) {
			e := entryAt(t, d, offs[0], tagStripOffsets)
			o := le.Uint32(d[e+8:])
			for i := o; i < o+40; i++ {
				d[i] = 0
			}
		}), &ReaderConfig{Strict: true}, ErrCorrupt},
		{"LZW bomb: a few bytes claiming a 4000 x 4000 grey page", patch(func(d []byte) {
			e := entryAt(t, d, offs[0], tagBitsPerSample)
			le.PutUint16(d[e+8:], 8)
			c := entryAt(t, d, offs[0], tagCompression)
			le.PutUint16(d[c+8:], uint16(CompressionLZW))
			setLong(d, 0, tagImageWidth, 4000)
			setLong(d, 0, tagImageLength, 4000)
			setLong(d, 0, tagRowsPerStrip, 4000)
		}), nil, ErrCorrupt},
		{"huge grey page over MaxImageBytes", patch(func(d []byte) {
			e := entryAt(t, d, offs[0], tagBitsPerSample)
			le.PutUint16(d[e+8:], 8)
			c := entryAt(t, d, offs[0], tagCompression)
			le.PutUint16(d[c+8:], uint16(CompressionLZW))
			setLong(d, 0, tagImageWidth, 20000)
			setLong(d, 0, tagImageLength, 20000)
			setLong(d, 0, tagRowsPerStrip, 20000)
		}), &ReaderConfig{Limits: Limits{MaxPixels: 1 << 30, MaxImageBytes: 100 << 20}}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readAll(tt.data, tt.cfg)
			require.Error(t, err)
			require.ErrorIs(t, err, tt.want, "%v", err)
			for _, other := range []error{ErrCorrupt, ErrUnsupported, ErrTooLarge} {
				if other != tt.want && !errors.Is(tt.want, other) {
					require.NotErrorIs(t, err, other, "%v", err)
				}
			}
		})
	}
}

func TestNegativeLimitIsAnError(t *testing.T) {
	_, err := NewReader(bytes.NewReader(nil), 0, &ReaderConfig{Limits: Limits{MaxPages: -1}})
	require.Error(t, err)
}

func TestErrorsNamePageAndOffset(t *testing.T) {
	valid := writeDoc(t, nil, []*t4.Bitmap{synthPage(100, 10, 1), synthPage(100, 10, 2)}, nil)
	offs := ifdOffsets(t, valid)
	d := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(d[entryAt(t, d, offs[1], tagImageWidth)+8:], 0)
	err := readAll(d, nil)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, 1, fe.Page)
	require.Equal(t, offs[1], fe.Offset)
	require.Contains(t, err.Error(), "ImageWidth")
	require.Contains(t, err.Error(), fmt.Sprintf("(page 2, offset %d)", offs[1]))
}

// TestIFDLoopEndsTheFile: a last IFD that points back to one already read
// (to itself, to the first) ends the file after every page, as libtiff
// warns ("IFD looping") and stops.
func TestIFDLoopEndsTheFile(t *testing.T) {
	pages := []*t4.Bitmap{synthPage(100, 10, 1), synthPage(100, 10, 2)}
	valid := writeDoc(t, nil, pages, nil)
	offs := ifdOffsets(t, valid)
	for i, to := range offs {
		d := append([]byte(nil), valid...)
		binary.LittleEndian.PutUint32(d[nextAt(d, offs[1]):], uint32(to))
		got, _ := readDoc(t, d)
		require.Len(t, got, 2, "loop to IFD %d", i)
		require.Empty(t, diffBitmaps(pages[1], got[1]))
		// The stream reader too.
		r, err := NewStreamReader(bytes.NewReader(d), nil)
		require.NoError(t, err)
		n := 0
		for _, err := range r.Pages() {
			require.NoError(t, err)
			n++
		}
		require.Equal(t, 2, n)
	}
}

func TestTruncatedFaxKeepsPartialPage(t *testing.T) {
	// A received fax cut off mid-page: the rows that arrived decode, the
	// rest are concealed and counted.
	src := synthPage(1728, 300, 7)
	data := writeDoc(t, &WriterConfig{Compression: CompressionGroup3}, []*t4.Bitmap{src}, nil)
	offs := ifdOffsets(t, data)
	e := entryAt(t, data, offs[0], tagStripByteCounts)
	n := binary.LittleEndian.Uint32(data[e+8:])
	binary.LittleEndian.PutUint32(data[e+8:], n/2)
	p := firstPage(t, data, nil)
	b, err := p.Bitmap()
	require.NoError(t, err)
	require.Equal(t, 300, b.Height)
	st := p.Stats()
	require.Equal(t, 300, st.Rows)
	require.Greater(t, st.BadRows, 50)
	require.Less(t, st.BadRows, 250)
	// The first rows are intact.
	for y := 0; y < 40; y++ {
		require.Equal(t, src.Row(y), b.Row(y), "row %d", y)
	}
	q := QualityFromStats(st)
	require.Equal(t, FaxRegenerated, q.Clean)
}
