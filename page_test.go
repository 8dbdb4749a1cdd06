package faxkit

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// letter renders the synthetic page once for this file's tests.
var letter = sync.OnceValues(func() ([]*t4.Bitmap, error) { return sample.Letters(1, sample.Fine) })

type keepSink struct{ got []*t4.Bitmap }

func (k *keepSink) WritePage(b *t4.Bitmap, _ *tiff.PageOptions) error {
	k.got = append(k.got, b)
	return nil
}

// TestPageDecodedOnce: the page the session judged (CheckPage) is the page
// the sink gets, not a second decoding of the same data.
func TestPageDecodedOnce(t *testing.T) {
	ps, err := letter()
	require.NoError(t, err)
	for _, m := range []t30.Mode{
		{Compression: t30.MMR, ECM: true, Resolution: t30.ResFine, Width: t30.WidthA4},
		{Compression: t30.MR, Resolution: t30.ResFine, Width: t30.WidthA4},
	} {
		data, err := (&t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}).Encode(0, m)
		require.NoError(t, err)
		sink := &keepSink{}
		c, err := NewCall(CallConfig{Sink: sink})
		require.NoError(t, err)

		q, err := c.checkPage(data, m)
		require.NoError(t, err)
		require.Equal(t, t30.PageQuality{Rows: ps[0].Height}, q)
		judged := c.rx.page.bitmap
		require.NoError(t, c.writePage(sink, t30.ReceivedPage{Number: 1, Mode: m, Data: data, Quality: q}))
		require.Same(t, judged, sink.got[0], "%v: the judged page is written", m.Compression)
		require.True(t, ps[0].Equal(sink.got[0]))
		require.Nil(t, c.rx, "the decoded page is not kept after it is written")

		// Data other than what was judged is decoded for itself.
		_, err = c.checkPage(data, m)
		require.NoError(t, err)
		judged = c.rx.page.bitmap
		other := append([]byte(nil), data...)
		require.NoError(t, c.writePage(sink, t30.ReceivedPage{Number: 2, Mode: m, Data: other}))
		require.NotSame(t, judged, sink.got[1])
		require.True(t, ps[0].Equal(sink.got[1]))
	}
}

// TestDecodeTruncated: a page that lost its end (no RTC/EOFB) is reported
// truncated, as t30.CheckPageT4 reports it.
func TestDecodeTruncated(t *testing.T) {
	ps, err := letter()
	require.NoError(t, err)
	for _, m := range []t30.Mode{
		{Compression: t30.MMR, ECM: true, Resolution: t30.ResFine, Width: t30.WidthA4},
		{Compression: t30.MH, Resolution: t30.ResFine, Width: t30.WidthA4},
		{Compression: t30.MR, Resolution: t30.ResFine, Width: t30.WidthA4},
	} {
		data, err := (&t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}).Encode(0, m)
		require.NoError(t, err)
		for _, d := range [][]byte{data, data[:len(data)*2/3], append(append([]byte(nil), data...), make([]byte, 300)...)} {
			want, werr := t30.CheckPageT4(d, m)
			got, err := decodePage(d, m)
			require.NotNil(t, got)
			require.Equal(t, want, got.quality(), "%v, %d octets", m.Compression, len(d))
			require.Equal(t, werr == nil, err == nil)
		}
	}
}
