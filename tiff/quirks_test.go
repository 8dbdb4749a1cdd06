package tiff

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// Files as real fax software writes them, slightly wrong. Each case says
// what libtiff 4.5 (tiffinfo, TIFFReadScanline) does with it; we read each
// one pixel-exactly: as leniently as libtiff at least, further where the
// data leaves no doubt.

const quirkW, quirkH = 1728, 100

func quirkPage() *t4.Bitmap { return synthPage(quirkW, quirkH, 7) }

// quirkStrips codes the quirk page in strips of rps rows.
func quirkStrips(t *testing.T, rps int, o t4.EncodeOptions) [][]byte {
	b := quirkPage()
	var s [][]byte
	for y := 0; y < quirkH; y += rps {
		s = append(s, encodeRows(t, b, y, min(y+rps, quirkH), o))
	}
	return s
}

// readQuirk reads the one page of data and checks it against the quirk
// page, with no bad rows.
func readQuirk(t *testing.T, data []byte) *Page {
	t.Helper()
	p := firstPage(t, data, nil)
	b, err := p.Bitmap()
	require.NoError(t, err)
	require.Empty(t, diffBitmaps(quirkPage(), b))
	require.Zero(t, p.Stats().BadRows)
	return p
}

func TestQuirkStripByteCounts(t *testing.T) {
	mh := t4.EncodeOptions{NoRTC: true}
	one := faxEntries(quirkW, quirkH, CompressionGroup3, 0, MSBFirst)
	many := with(one, qLong(tagRowsPerStrip, 25))
	strips := quirkStrips(t, 25, mh)
	oneZero := []uint32{uint32(len(strips[0])), 0, uint32(len(strips[2])), uint32(len(strips[3]))}
	for _, tc := range []struct {
		name string
		page qPage
	}{
		// libtiff: "missing required StripByteCounts, calculating".
		{"missing, one strip", qPage{without(one, tagStripByteCounts), quirkStrips(t, quirkH, mh)}},
		// libtiff: "Bogus StripByteCounts field, ignoring and calculating".
		{"zero, one strip", qPage{with(one, qLong(tagStripByteCounts, 0)), quirkStrips(t, quirkH, mh)}},
		// libtiff refuses both ("missing required", "invalid strip byte count 0").
		{"missing, four strips", qPage{without(many, tagStripByteCounts), quirkStrips(t, 25, mh)}},
		{"zero, four strips", qPage{with(many, qLong(tagStripByteCounts, 0, 0, 0, 0)), quirkStrips(t, 25, mh)}},
		{"one zero of four", qPage{with(many, qLong(tagStripByteCounts, oneZero...)), strips}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readQuirk(t, buildTIFF([]qPage{tc.page}))
		})
	}
}

func TestQuirkRowsPerStrip(t *testing.T) {
	mh := t4.EncodeOptions{NoRTC: true}
	one := faxEntries(quirkW, quirkH, CompressionGroup3, 0, MSBFirst)
	for _, tc := range []struct {
		name string
		page qPage
	}{
		{"missing", qPage{without(one, tagRowsPerStrip), quirkStrips(t, quirkH, mh)}},
		{"2^32-1", qPage{with(one, qLong(tagRowsPerStrip, 0xffffffff)), quirkStrips(t, quirkH, mh)}},
		// One strip holding the whole page, but RowsPerStrip 16: libtiff
		// ("Incorrect count for StripOffsets; tag ignored") reads no page.
		{"smaller than the one strip", qPage{with(one, qLong(tagRowsPerStrip, 16)), quirkStrips(t, quirkH, mh)}},
		{"smaller, no byte counts", qPage{without(with(one, qLong(tagRowsPerStrip, 16)), tagStripByteCounts), quirkStrips(t, quirkH, mh)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := readQuirk(t, buildTIFF([]qPage{tc.page}))
			require.Equal(t, quirkH, p.Info.RowsPerStrip)
		})
	}
}

func TestQuirkCodingMisstated(t *testing.T) {
	g3 := faxEntries(quirkW, quirkH, CompressionGroup3, 0, MSBFirst)
	g3lsb := faxEntries(quirkW, quirkH, CompressionGroup3, 0, LSBFirst)
	g4 := faxEntries(quirkW, quirkH, CompressionGroup4, 0, MSBFirst)
	lsbMH := quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, BitOrder: t4.LSBFirst})
	for _, tc := range []struct {
		name string
		page qPage
	}{
		// libtiff decodes all of these as noise ("Bad code word").
		{"FillOrder 1, data LSB first", qPage{g3, lsbMH}},
		{"FillOrder absent, data LSB first", qPage{without(g3, tagFillOrder), lsbMH}},
		{"FillOrder 2, data MSB first", qPage{g3lsb, quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true})}},
		{"G4 FillOrder 1, data LSB first", qPage{g4, quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, Compression: t4.MMR, BitOrder: t4.LSBFirst})}},
		{"T4Options 1-D, data MR", qPage{g3, quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, Compression: t4.MR, K: 4})}},
		{"T4Options 2-D, data MH", qPage{with(g3, qLong(tagT4Options, T4Option2D)), quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true})}},
		{"T4Options 2-D, data MH LSB first", qPage{with(g3, qLong(tagT4Options, T4Option2D)), lsbMH}},
		{"four strips, FillOrder 1, data LSB first", qPage{with(g3, qLong(tagRowsPerStrip, 25)), quirkStrips(t, 25, t4.EncodeOptions{NoRTC: true, BitOrder: t4.LSBFirst})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readQuirk(t, buildTIFF([]qPage{tc.page}))
		})
	}
}

// TestQuirkDamagedKeepsTags: a page that is only damaged is read as its
// tags say, with its few bad rows concealed.
func TestQuirkDamagedKeepsTags(t *testing.T) {
	strips := quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, Compression: t4.MR, K: 4})
	data := strips[0]
	for i := len(data) / 3; i < len(data)/3+6; i++ {
		data[i] ^= 0x5a
	}
	f := buildTIFF([]qPage{{faxEntries(quirkW, quirkH, CompressionGroup3, T4Option2D, MSBFirst), strips}})
	p := firstPage(t, f, nil)
	b, err := p.Bitmap()
	require.NoError(t, err)
	st := p.Stats()
	require.Positive(t, st.BadRows)
	require.Less(t, st.BadRows, quirkH/4)
	want, same := quirkPage(), 0
	for y := 0; y < quirkH; y++ {
		if bytes.Equal(want.Row(y), b.Row(y)) {
			same++
		}
	}
	require.GreaterOrEqual(t, same, quirkH-st.BadRows)

	_, err = firstPage(t, f, &ReaderConfig{Strict: true}).Bitmap()
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestQuirkImageLengthFromData(t *testing.T) {
	g3 := faxEntries(quirkW, quirkH, CompressionGroup3, 0, LSBFirst)
	withRTC := quirkStrips(t, quirkH, t4.EncodeOptions{BitOrder: t4.LSBFirst})
	noRTC := quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, BitOrder: t4.LSBFirst})
	g4 := quirkStrips(t, quirkH, t4.EncodeOptions{Compression: t4.MMR, BitOrder: t4.LSBFirst})
	// libtiff refuses every one ("Cannot handle zero number of strips").
	for _, tc := range []struct {
		name string
		page qPage
	}{
		{"missing, RTC", qPage{without(g3, tagImageLength, tagRowsPerStrip), withRTC}},
		{"zero, RTC", qPage{with(g3, qLong(tagImageLength, 0), qLong(tagRowsPerStrip, 0xffffffff)), withRTC}},
		{"zero, no RTC", qPage{with(g3, qLong(tagImageLength, 0)), noRTC}},
		{"missing, no StripByteCounts, RTC", qPage{without(g3, tagImageLength, tagStripByteCounts), withRTC}},
		{"G4, EOFB", qPage{without(faxEntries(quirkW, quirkH, CompressionGroup4, 0, LSBFirst), tagImageLength), g4}},
		// efax writes its header with the page's length and byte count
		// when the page ends; a reception cut off leaves them 0.
		{"efax cut off: length, rows per strip and byte count 0", qPage{with(g3, qLong(tagImageLength, 0), qLong(tagRowsPerStrip, 0), qLong(tagStripByteCounts, 0)), withRTC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := buildTIFF([]qPage{tc.page})
			p := readQuirk(t, data)
			require.Equal(t, quirkH, p.Info.Height)
			// The stream reader counts the same rows.
			r, err := NewStreamReader(bytes.NewReader(data), nil)
			require.NoError(t, err)
			p, err = r.Next()
			require.NoError(t, err)
			require.Equal(t, quirkH, p.Info.Height)
		})
	}
	t.Run("limit", func(t *testing.T) {
		data := buildTIFF([]qPage{{without(g3, tagImageLength), withRTC}})
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), &ReaderConfig{Limits: Limits{MaxHeight: quirkH - 1}})
		require.NoError(t, err)
		_, err = r.Next()
		require.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("several strips", func(t *testing.T) {
		data := buildTIFF([]qPage{{with(without(g3, tagImageLength), qLong(tagRowsPerStrip, 50)), quirkStrips(t, 50, t4.EncodeOptions{BitOrder: t4.LSBFirst})}})
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
		require.NoError(t, err)
		_, err = r.Next()
		require.ErrorIs(t, err, ErrCorrupt)
	})
}

// TestQuirkRowsLacking: an ImageLength beyond the rows the data codes (a
// fax cut short, a length written before the page was received) leaves the
// rows lacking white, counted bad, rather than the last row smeared down
// the page.
func TestQuirkRowsLacking(t *testing.T) {
	const h = quirkH + 50
	g3 := faxEntries(quirkW, h, CompressionGroup3, 0, LSBFirst)
	lsb := t4.EncodeOptions{BitOrder: t4.LSBFirst}
	noRTC := lsb
	noRTC.NoRTC = true
	for _, tc := range []struct {
		name string
		page qPage
	}{
		{"RTC", qPage{g3, quirkStrips(t, quirkH, lsb)}},
		{"end of data", qPage{g3, quirkStrips(t, quirkH, noRTC)}},
		{"G4 EOFB", qPage{faxEntries(quirkW, h, CompressionGroup4, 0, LSBFirst), quirkStrips(t, quirkH, t4.EncodeOptions{Compression: t4.MMR, BitOrder: t4.LSBFirst})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := buildTIFF([]qPage{tc.page})
			p := firstPage(t, data, nil)
			b, err := p.Bitmap()
			require.NoError(t, err)
			want := quirkPage()
			for y := 0; y < h; y++ {
				if y < quirkH {
					require.Equal(t, want.Row(y), b.Row(y), "row %d", y)
				} else {
					require.Equal(t, make([]byte, b.Stride), b.Row(y), "row %d", y)
				}
			}
			require.Equal(t, t4.Stats{Rows: h, BadRows: 50, LongestBadRun: 50}, p.Stats())

			_, err = firstPage(t, data, &ReaderConfig{Strict: true}).Bitmap()
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}

// TestQuirkG3Framing pins down what already reads well: the framing of
// Group 3 data as fax software varies it. libtiff reads all but the first
// pixel-exactly too (without a leading EOL it stops one row short).
func TestQuirkG3Framing(t *testing.T) {
	g3 := faxEntries(quirkW, quirkH, CompressionGroup3, 0, MSBFirst)
	mh := t4.EncodeOptions{NoRTC: true}
	noLead := quirkStrips(t, quirkH, mh)
	noLead[0] = dropBits(noLead[0], 12) // the leading EOL
	for _, tc := range []struct {
		name string
		page qPage
	}{
		{"no leading EOL", qPage{g3, noLead}},
		{"EOLs byte aligned, T4Options says not", qPage{g3, quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, AlignEOL: true})}},
		{"T4Options says aligned, EOLs are not", qPage{with(g3, qLong(tagT4Options, T4OptionFillBits)), quirkStrips(t, quirkH, mh)}},
		{"RTC in each of four strips", qPage{with(g3, qLong(tagRowsPerStrip, 25)), quirkStrips(t, 25, t4.EncodeOptions{})}},
		{"MR, RTC in each of four strips", qPage{with(g3, qLong(tagRowsPerStrip, 25), qLong(tagT4Options, T4Option2D)), quirkStrips(t, 25, t4.EncodeOptions{Compression: t4.MR})}},
		{"no PhotometricInterpretation", qPage{without(g3, tagPhotometric), quirkStrips(t, quirkH, mh)}},
		{"no T4Options", qPage{without(g3, tagT4Options), quirkStrips(t, quirkH, mh)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readQuirk(t, buildTIFF([]qPage{tc.page}))
		})
	}
}

// dropBits removes the first n bits of MSB-first data.
func dropBits(data []byte, n int) []byte {
	bits := len(data)*8 - n
	out := make([]byte, (bits+7)/8)
	for i := 0; i < bits; i++ {
		j := i + n
		if data[j/8]>>(7-j%8)&1 == 1 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// TestQuirkRetryMemory: trying the other readings of a damaged page holds
// two bitmaps at most, not one per reading.
func TestQuirkRetryMemory(t *testing.T) {
	const w, h = 1728, 20000
	garbage := bytes.Repeat([]byte{0x35, 0xc1, 0x07}, 2000)
	data := buildTIFF([]qPage{{faxEntries(w, h, CompressionGroup3, T4Option2D, LSBFirst), [][]byte{garbage}}})
	p := firstPage(t, data, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := p.Bitmap()
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Equal(t, h, p.Stats().Rows)
	require.Positive(t, p.Stats().BadRows)
	bitmap := uint64(w / 8 * h)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, 2*bitmap+bitmap/2, "bytes allocated for a %d-byte bitmap", bitmap)
}

// TestQuirkUncompressedModeAllowed: T4Options/T6Options bit 1 only allows
// uncompressed mode. libtiff reads such pages and fails only at rows that
// use it; so do we (the rows are concealed).
func TestQuirkUncompressedModeAllowed(t *testing.T) {
	g3 := faxEntries(quirkW, quirkH, CompressionGroup3, 0, MSBFirst)
	g4 := faxEntries(quirkW, quirkH, CompressionGroup4, 0, MSBFirst)
	for _, tc := range []struct {
		name string
		page qPage
	}{
		{"T4Options 2-D + uncompressed", qPage{with(g3, qLong(tagT4Options, T4Option2D|T4OptionUncompressed)), quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, Compression: t4.MR})}},
		{"T6Options uncompressed", qPage{with(g4, qLong(tagT6Options, T6OptionUncompressed)), quirkStrips(t, quirkH, t4.EncodeOptions{NoRTC: true, Compression: t4.MMR})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readQuirk(t, buildTIFF([]qPage{tc.page}))
		})
	}
	t.Run("data in uncompressed mode", func(t *testing.T) {
		// The T.6 extension code 0000001 111 (uncompressed mode) at once.
		data := buildTIFF([]qPage{{with(g4, qLong(tagT6Options, T6OptionUncompressed)), [][]byte{{0x03, 0xc0, 0x12, 0x34}}}})
		p := firstPage(t, data, nil)
		_, err := p.Bitmap()
		require.NoError(t, err)
		require.Greater(t, p.Stats().BadRows, quirkH-5) // no reading makes sense of it
		_, err = firstPage(t, data, &ReaderConfig{Strict: true}).Bitmap()
		require.ErrorIs(t, err, ErrCorrupt)
	})
}
