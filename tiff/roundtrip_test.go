package tiff

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t4"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// writeModes is every way the writer can code a page.
var writeModes = []struct {
	name string
	cfg  WriterConfig
}{
	{"G3-1D", WriterConfig{Compression: CompressionGroup3}},
	{"G3-1D-aligned", WriterConfig{Compression: CompressionGroup3, AlignEOL: true}},
	{"G3-2D", WriterConfig{Compression: CompressionGroup3, TwoD: true}},
	{"G3-2D-K1-aligned", WriterConfig{Compression: CompressionGroup3, TwoD: true, K: 1, AlignEOL: true}},
	{"G3-2D-K7", WriterConfig{Compression: CompressionGroup3, TwoD: true, K: 7}},
	{"G4", WriterConfig{Compression: CompressionGroup4}},
	{"G4-big-endian", WriterConfig{Compression: CompressionGroup4, BigEndian: true}},
	{"RLE", WriterConfig{Compression: CompressionCCITTRLE}},
	{"none", WriterConfig{Compression: CompressionNone}},
	{"PackBits", WriterConfig{Compression: CompressionPackBits}},
}

func TestRoundTripEveryCompressionAndFillOrder(t *testing.T) {
	pages := []*t4.Bitmap{
		synthPage(1728, 1143, 1),
		synthPage(2048, 300, 2),
		synthPage(1731, 97, 3), // width not a multiple of 8
	}
	opts := []*PageOptions{
		{Resolution: ResStandard},
		{Resolution: ResFine, DateTime: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), Description: "synthetic"},
		{Resolution: ResSuperfine, Quality: &FaxQuality{BadLines: 3, Clean: FaxRegenerated, ConsecutiveBadLines: 2}},
	}
	for _, m := range writeModes {
		for _, fo := range []FillOrder{MSBFirst, LSBFirst} {
			for _, big := range []bool{false, true} {
				name := m.name + "/" + fo.String()
				if big {
					name += "/MM"
				}
				t.Run(name, func(t *testing.T) {
					cfg := m.cfg
					cfg.FillOrder = fo
					cfg.BigEndian = big
					cfg.PageCount = len(pages)
					data := writeDoc(t, &cfg, pages, opts)
					got, infos := readDoc(t, data)
					require.Len(t, got, len(pages))
					for i := range pages {
						require.Empty(t, diffBitmaps(pages[i], got[i]), "page %d", i)
						in := infos[i]
						require.Equal(t, cfg.Compression, in.Compression)
						require.Equal(t, fo, in.FillOrder)
						require.Equal(t, WhiteIsZero, in.Photometric)
						require.Equal(t, opts[i].Resolution, in.Resolution())
						require.True(t, in.HasPageNumber)
						require.Equal(t, i, in.PageNumber)
						require.Equal(t, len(pages), in.PageCount)
						require.Equal(t, DefaultSoftware, in.Software)
						require.Equal(t, uint32(2), in.SubfileType)
					}
					require.Equal(t, "2026:03:04 05:06:07", infos[1].DateTime)
					require.Equal(t, "synthetic", infos[1].ImageDescription)
					if cfg.Compression <= CompressionGroup4 && cfg.Compression != CompressionNone {
						require.Equal(t, 3, infos[2].BadFaxLines)
						require.Equal(t, FaxRegenerated, infos[2].CleanFaxData)
						require.Equal(t, 2, infos[2].ConsecutiveBadFaxLines)
					} else {
						require.Zero(t, infos[2].BadFaxLines, "fax tags only with CCITT data")
					}
					require.Equal(t, 0, infos[0].BadFaxLines)
					if cfg.Compression == CompressionGroup3 {
						var want uint32
						if cfg.TwoD {
							want |= T4Option2D
						}
						if cfg.AlignEOL {
							want |= T4OptionFillBits
						}
						require.Equal(t, want, infos[0].T4Options)
					}
				})
			}
		}
	}
}

func TestWriterDefaultsAreClassF(t *testing.T) {
	data := writeDoc(t, nil, []*t4.Bitmap{synthPage(1728, 200, 9)}, nil)
	require.Equal(t, "II*\x00", string(data[:4]))
	_, infos := readDoc(t, data)
	want := PageInfo{
		Width: 1728, Height: 200, BitsPerSample: 1, SamplesPerPixel: 1,
		Compression: CompressionGroup3, Photometric: WhiteIsZero, FillOrder: LSBFirst,
		XResolution: 204, YResolution: 196, ResolutionUnit: UnitInch,
		RowsPerStrip: 200, Strips: 1, Orientation: 1, SubfileType: 2,
		HasPageNumber: true, Software: DefaultSoftware,
	}
	if d := cmp.Diff(want, infos[0]); d != "" {
		t.Errorf("page info (-want +got):\n%s", d)
	}
}

func TestWriterStreamsWithoutSeeking(t *testing.T) {
	// The writer sees only an io.Writer; check that what it wrote before
	// Close is a prefix of the final file and that each Close of a page
	// flushes that page's data.
	var buf bytes.Buffer
	w, err := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
	require.NoError(t, err)
	require.Zero(t, buf.Len(), "nothing written before the first page")
	require.NoError(t, w.WritePage(synthPage(1728, 100, 1), nil))
	n1 := buf.Len()
	require.Greater(t, n1, 8)
	require.NoError(t, w.WritePage(synthPage(1728, 100, 2), nil))
	n2 := buf.Len()
	require.Greater(t, n2, n1)
	prefix := append([]byte(nil), buf.Bytes()...)
	require.NoError(t, w.Close())
	require.Equal(t, prefix, buf.Bytes()[:n2])
	got, _ := readDoc(t, buf.Bytes())
	require.Len(t, got, 2)
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil)
	require.NoError(t, err)
	require.ErrorIs(t, w.Close(), ErrNoPages)
	require.Zero(t, buf.Len())

	_, err = NewWriter(&buf, &WriterConfig{Compression: CompressionLZW})
	require.ErrorIs(t, err, ErrUnsupported)

	w, err = NewWriter(&buf, nil)
	require.NoError(t, err)
	pw, err := w.NewPage(1728, nil)
	require.NoError(t, err)
	require.Error(t, pw.WriteRow(make([]byte, 10)), "short row")
	_, err = w.NewPage(1728, nil)
	require.Error(t, err, "second open page")
	require.Error(t, pw.Close(), "page without rows")
	require.ErrorIs(t, pw.Close(), ErrClosed)
}

func TestPageWriterHeightIsRowsWritten(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
	require.NoError(t, err)
	src := synthPage(1728, 77, 5)
	pw, err := w.NewPage(1728, &PageOptions{XDPI: 203.2, YDPI: 97.79})
	require.NoError(t, err)
	for y := 0; y < src.Height; y++ {
		require.NoError(t, pw.WriteRow(src.Row(y)))
	}
	require.NoError(t, pw.Close())
	require.NoError(t, w.Close())
	got, infos := readDoc(t, buf.Bytes())
	require.Empty(t, diffBitmaps(src, got[0]))
	require.InDelta(t, 203.2, infos[0].XResolution, 1e-9)
	require.InDelta(t, 97.79, infos[0].YResolution, 1e-9)
	require.Equal(t, ResStandard, infos[0].Resolution())
}

func TestResolutionMapping(t *testing.T) {
	tests := []struct {
		x, y float64
		unit ResolutionUnit
		want Resolution
	}{
		{204, 98, UnitInch, ResStandard},
		{200, 100, UnitInch, ResStandard},
		{204, 196, UnitInch, ResFine},
		{200, 200, UnitInch, ResFine},
		{204, 391, UnitInch, ResSuperfine},
		{204, 392, UnitInch, ResSuperfine},
		{408, 391, UnitInch, ResR16},
		{300, 300, UnitInch, Res300},
		{400, 400, UnitInch, Res400},
		{600, 1200, UnitInch, Res600x1200},
		{80, 38.5, UnitCentimeter, ResStandard}, // 8 pels/mm x 3.85 lines/mm
		{80, 77, UnitCentimeter, ResFine},
		{80, 154, UnitCentimeter, ResSuperfine},
		{160, 154, UnitCentimeter, ResR16},
		{72, 72, UnitInch, ResUnknown},
		{118.11, 118.11, UnitCentimeter, Res300},
		// Units fax software gets wrong: pels per mm under the cm (or
		// inch) unit, dpi under the cm unit or none.
		{8, 3.85, UnitCentimeter, ResStandard},
		{8, 7.7, UnitCentimeter, ResFine},
		{8, 15.4, UnitCentimeter, ResSuperfine},
		{8, 7.7, UnitInch, ResFine},
		{204, 98, UnitCentimeter, ResStandard},
		{204, 196, UnitCentimeter, ResFine},
		{204, 98, UnitNone, ResStandard},
		{204, 196, UnitNone, ResFine},
		{72, 72, UnitNone, ResUnknown},
		{118.11, 118.11, UnitInch, ResUnknown}, // not 300 dpi taken as per cm
		{0, 0, UnitInch, ResUnknown},
	}
	for _, tt := range tests {
		pi := PageInfo{XResolution: tt.x, YResolution: tt.y, ResolutionUnit: tt.unit}
		require.Equal(t, tt.want, pi.Resolution(), "%v x %v per %v", tt.x, tt.y, tt.unit)
	}
	for r := ResStandard; r <= Res1200; r++ {
		x, y := r.DPI()
		require.Equal(t, r, t4.ResolutionFromDPI(x, y), "%v", r)
	}
	require.Equal(t, "Resolution(99)", Resolution(99).String())
	require.Equal(t, "Compression(77)", Compression(77).String())
	require.Equal(t, "CCITT Group 4", CompressionGroup4.String())
	require.Equal(t, "Deflate", CompressionAdobeDeflate.String())
	require.Equal(t, "min-is-white", WhiteIsZero.String())
	require.Equal(t, "Photometric(7)", Photometric(7).String())
	require.Equal(t, "lsb-to-msb", LSBFirst.String())
	require.Equal(t, "FillOrder(0)", FillOrder(0).String())
	require.Equal(t, "centimeter", UnitCentimeter.String())
	require.Equal(t, "regenerated", FaxRegenerated.String())
	require.Equal(t, "CleanFaxData(3)", CleanFaxData(3).String())
}

func TestMultiStripAndBlackIsZero(t *testing.T) {
	// Our writer writes one strip; build a file with several strips and
	// min-is-black by hand (uncompressed) to check the reader.
	src := synthPage(100, 50, 4)
	data := buildRaw(t, src, 16, BlackIsZero)
	got, infos := readDoc(t, data)
	require.Equal(t, 4, infos[0].Strips)
	require.Equal(t, 16, infos[0].RowsPerStrip)
	require.Empty(t, diffBitmaps(src, got[0]))
}

// buildRaw writes an uncompressed bilevel TIFF with rowsPerStrip rows per
// strip and the given photometric interpretation (inverting the samples
// for BlackIsZero), by hand, to test reader paths our writer never takes.
func buildRaw(t testing.TB, b *t4.Bitmap, rowsPerStrip int, ph Photometric) []byte {
	t.Helper()
	w := &Writer{order: leOrder()}
	var data []byte
	var offs, cnts []uint32
	for y0 := 0; y0 < b.Height; y0 += rowsPerStrip {
		y1 := min(y0+rowsPerStrip, b.Height)
		offs = append(offs, uint32(8+len(data)))
		s := append([]byte(nil), b.Pix[y0*b.Stride:y1*b.Stride]...)
		if ph == BlackIsZero {
			for i := range s {
				s[i] = ^s[i]
			}
		}
		data = append(data, s...)
		cnts = append(cnts, uint32(len(s)))
	}
	if len(data)&1 == 1 {
		data = append(data, 0)
	}
	longs := func(tag uint16, v []uint32) ifdEntry {
		e := ifdEntry{tag: tag, typ: typeLong, count: uint32(len(v))}
		for _, x := range v {
			e.val = w.order.AppendUint32(e.val, x)
		}
		return e
	}
	e := []ifdEntry{
		w.long(tagImageWidth, uint32(b.Width)),
		w.long(tagImageLength, uint32(b.Height)),
		w.short(tagBitsPerSample, 1),
		w.short(tagCompression, 1),
		w.short(tagPhotometric, uint16(ph)),
		longs(tagStripOffsets, offs),
		w.short(tagSamplesPerPixel, 1),
		w.long(tagRowsPerStrip, uint32(rowsPerStrip)),
		longs(tagStripByteCounts, cnts),
	}
	var out bytes.Buffer
	w.w = &out
	hdr := []byte("II*\x00\x00\x00\x00\x00")
	w.order.PutUint32(hdr[4:], uint32(8+len(data)))
	require.NoError(t, w.write(hdr))
	require.NoError(t, w.write(data))
	require.NoError(t, w.writeIFD(e, 0))
	return out.Bytes()
}

func TestPageInfoLogValueRedactsFreeText(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	pi := PageInfo{Width: 1728, Height: 2292, Compression: CompressionGroup4, ImageDescription: "Jane Doe, MRN 12345",
		DocumentName: "labs-jane-doe.pdf", XResolution: 204, YResolution: 196, ResolutionUnit: UnitInch}
	log.Info("page", "info", pi)
	out := buf.String()
	require.NotContains(t, out, "Jane")
	require.NotContains(t, out, "12345")
	require.NotContains(t, out, "doe")
	require.Contains(t, out, "info.width=1728")
	require.Contains(t, out, "info.resolution=fine")
	require.Contains(t, out, "info.image_description=[redacted]")
}
