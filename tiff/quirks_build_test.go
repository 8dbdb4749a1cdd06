package tiff

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// A small classic little-endian TIFF builder for the quirk tests: it writes
// exactly the entries it is given, so that a test can leave out, add or
// misstate any tag the way real fax software does.

// qEntry is an IFD entry. A StripOffsets or StripByteCounts entry with nil
// vals is filled in with the strips' offsets or lengths.
type qEntry struct {
	tag, typ uint16
	vals     []uint32 // RATIONAL: numerator, denominator pairs
}

type qPage struct {
	entries []qEntry
	strips  [][]byte
}

func qShort(tag uint16, v ...uint32) qEntry { return qEntry{tag, typeShort, v} }
func qLong(tag uint16, v ...uint32) qEntry  { return qEntry{tag, typeLong, v} }
func qRat(tag uint16, num, den uint32) qEntry {
	return qEntry{tag, typeRational, []uint32{num, den}}
}

// buildTIFF lays out header, then for each page its strips and its IFD
// (values after it), like libtiff does.
func buildTIFF(pages []qPage) []byte {
	le := binary.LittleEndian
	out := []byte("II*\x00\x00\x00\x00\x00")
	prevNext := 4 // where the offset of the next IFD goes
	for _, p := range pages {
		var offs, lens []uint32
		for _, s := range p.strips {
			offs = append(offs, uint32(len(out)))
			lens = append(lens, uint32(len(s)))
			out = append(out, s...)
		}
		if len(out)&1 == 1 {
			out = append(out, 0)
		}
		es := slices.Clone(p.entries)
		for i := range es {
			if es[i].vals == nil && es[i].tag == tagStripOffsets {
				es[i].vals = offs
			}
			if es[i].vals == nil && es[i].tag == tagStripByteCounts {
				es[i].vals = lens
			}
		}
		slices.SortStableFunc(es, func(a, b qEntry) int { return int(a.tag) - int(b.tag) })
		ifd := len(out)
		le.PutUint32(out[prevNext:], uint32(ifd))
		extra := ifd + 2 + 12*len(es) + 4
		var tail []byte
		out = le.AppendUint16(out, uint16(len(es)))
		for _, e := range es {
			var val []byte
			count := len(e.vals)
			for _, v := range e.vals {
				if e.typ == typeShort {
					val = le.AppendUint16(val, uint16(v))
				} else {
					val = le.AppendUint32(val, v)
				}
			}
			if e.typ == typeRational {
				count /= 2
			}
			out = le.AppendUint16(out, e.tag)
			out = le.AppendUint16(out, e.typ)
			out = le.AppendUint32(out, uint32(count))
			if len(val) <= 4 {
				var v [4]byte
				copy(v[:], val)
				out = append(out, v[:]...)
				continue
			}
			out = le.AppendUint32(out, uint32(extra+len(tail)))
			tail = append(tail, val...)
		}
		prevNext = len(out)
		out = append(out, 0, 0, 0, 0)
		out = append(out, tail...)
	}
	return out
}

// faxEntries is the IFD of a Group 3 fax page as HylaFAX writes it, with
// one strip.
func faxEntries(w, h int, comp Compression, t4opts uint32, fill FillOrder) []qEntry {
	e := []qEntry{
		qLong(tagNewSubfileType, 2),
		qLong(tagImageWidth, uint32(w)),
		qLong(tagImageLength, uint32(h)),
		qShort(tagBitsPerSample, 1),
		qShort(tagCompression, uint32(comp)),
		qShort(tagPhotometric, 0),
		qShort(tagFillOrder, uint32(fill)),
		{tag: tagStripOffsets, typ: typeLong},
		qShort(tagSamplesPerPixel, 1),
		qLong(tagRowsPerStrip, uint32(h)),
		{tag: tagStripByteCounts, typ: typeLong},
		qRat(tagXResolution, 204, 1),
		qRat(tagYResolution, 196, 1),
		qShort(tagResolutionUnit, 2),
	}
	switch comp {
	case CompressionGroup3:
		e = append(e, qLong(tagT4Options, t4opts))
	case CompressionGroup4:
		e = append(e, qLong(tagT6Options, 0))
	}
	return e
}

// without returns e without the entries for tags.
func without(e []qEntry, tags ...uint16) []qEntry {
	return slices.DeleteFunc(slices.Clone(e), func(x qEntry) bool { return slices.Contains(tags, x.tag) })
}

// with returns e with the entry for x.tag replaced by x (or x added).
func with(e []qEntry, x ...qEntry) []qEntry {
	out := slices.Clone(e)
	for _, n := range x {
		i := slices.IndexFunc(out, func(o qEntry) bool { return o.tag == n.tag })
		if i < 0 {
			out = append(out, n)
		} else {
			out[i] = n
		}
	}
	return out
}

// encodeRows codes rows y0..y1-1 of b on their own (a strip).
func encodeRows(t testing.TB, b *t4.Bitmap, y0, y1 int, o t4.EncodeOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := t4.NewEncoder(&buf, b.Width, &o)
	require.NoError(t, err)
	for y := y0; y < y1; y++ {
		require.NoError(t, enc.WriteRow(b.Row(y)))
	}
	require.NoError(t, enc.Close())
	return buf.Bytes()
}
