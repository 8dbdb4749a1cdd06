package tiff

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"slices"

	xtiff "golang.org/x/image/tiff"
)

// decodeOther decodes a page that is not a plain fax page: grey, palette or
// colour pages, and bilevel pages with other compressions or tiles.
func (p *Page) decodeOther() (image.Image, error) {
	in := &p.Info
	// The memory the decoded image takes: x/image/tiff keeps 8-bit RGB as
	// RGBA (4 bytes), 16-bit samples as 16 bits, everything else in a byte.
	bpp := int64(1)
	switch {
	case in.SamplesPerPixel >= 3 && in.BitsPerSample > 8:
		bpp = 8
	case in.SamplesPerPixel >= 3:
		bpp = 4
	case in.BitsPerSample > 8:
		bpp = 2
	}
	if n := int64(in.Width) * int64(in.Height) * bpp; n > p.r.limits.MaxImageBytes {
		return nil, p.errf(-1, ErrTooLarge, "decoded page would take %d bytes (limit %d)", n, p.r.limits.MaxImageBytes)
	}
	if err := p.checkExpansion(); err != nil {
		return nil, err
	}
	switch in.Compression {
	case CompressionJPEG:
		return p.decodeJPEG()
	case CompressionOldJPEG:
		return nil, p.errf(-1, ErrUnsupported, "old-style JPEG (compression 6)")
	}
	if p.simpleOK() && (in.BitsPerSample < 8 || p.r.big) {
		return p.decodeSimple()
	}
	if p.r.big {
		return nil, p.errf(-1, ErrUnsupported, "%s %s pages in BigTIFF", in.Compression, in.Photometric)
	}
	// x/image/tiff reads only the first IFD: show it a view of the file
	// whose header points at this page's IFD. Everything else, including
	// the offsets the IFD holds, is the file itself.
	view := &headerView{r: p.r.r, size: p.r.size}
	if in.FillOrder == LSBFirst {
		// libtiff reverses the bits of all data but CCITT's for FillOrder
		// 2; x/image/tiff ignores FillOrder, so the view undoes it.
		for i := range p.offsets {
			view.rev = append(view.rev, span{int64(min(p.offsets[i], 1<<62)), int64(min(p.counts[i], 1<<62))})
		}
		slices.SortFunc(view.rev, func(a, b span) int { return cmp.Compare(a.off, b.off) })
		var m int64
		for _, s := range view.rev {
			m = max(m, s.off+s.n)
			view.maxEnd = append(view.maxEnd, m)
		}
	}
	if p.r.order == binary.LittleEndian {
		copy(view.hdr[:], "II*\x00")
	} else {
		copy(view.hdr[:], "MM\x00*")
	}
	p.r.order.PutUint32(view.hdr[4:], uint32(p.ifdOff))
	img, err := xtiff.Decode(io.NewSectionReader(view, 0, p.r.size))
	if err != nil {
		var ue xtiff.UnsupportedError
		if errors.As(err, &ue) {
			return nil, &FormatError{Page: p.index, Offset: -1, Msg: "x/image/tiff: " + err.Error(), Err: ErrUnsupported}
		}
		return nil, &FormatError{Page: p.index, Offset: -1, Msg: "x/image/tiff: " + err.Error(), Err: ErrCorrupt}
	}
	return img, nil
}

// maxExpansion is the most each compression can expand its data, with
// room to spare: PackBits turns 2 bytes into 128, Deflate 1 into 1032, LZW
// (12-bit codes, a string at most ~3840 bytes long per code) 1.5 into 3840,
// and JPEG codes a flat 8x8 block in about 6 bits per component.
var maxExpansion = map[Compression]int64{
	CompressionNone: 1, CompressionPackBits: 64, CompressionDeflate: 1100,
	CompressionAdobeDeflate: 1100, CompressionLZW: 4096, CompressionJPEG: 2048,
}

// checkExpansion refuses a page whose strips are too small to hold its
// pixels in its compression: a truncated file, or one built to make us
// allocate a large image for nothing.
func (p *Page) checkExpansion() error {
	in := &p.Info
	ratio, ok := maxExpansion[in.Compression]
	if !ok {
		return nil
	}
	var have int64
	size := uint64(p.r.size)
	for i, off := range p.offsets {
		if off < size {
			have += int64(min(p.counts[i], size-off))
		}
	}
	bits := int64(in.BitsPerSample) * int64(in.SamplesPerPixel)
	need := (int64(in.Width)*bits + 7) / 8 * int64(in.Height)
	if have*ratio < need {
		return p.errf(-1, ErrCorrupt, "%d bytes of %s data cannot hold a %d x %d page (%d bytes)", have, in.Compression, in.Width, in.Height, need)
	}
	return nil
}

// headerView is a file with its first 8 bytes replaced, and the bits of the
// bytes in the spans rev reversed.
type headerView struct {
	r    io.ReaderAt
	size int64
	hdr  [8]byte
	rev  []span // sorted by offset
	// maxEnd[i] is the furthest end of rev[0..i].
	maxEnd []int64
}

type span struct{ off, n int64 }

func (v *headerView) ReadAt(p []byte, off int64) (int, error) {
	if off < 8 && off >= 0 {
		// The header comes from hdr alone (a stream may have dropped
		// the file's own).
		h := copy(p, v.hdr[off:])
		if h == len(p) {
			return h, nil
		}
		n, err := v.ReadAt(p[h:], 8)
		return h + n, err
	}
	n, err := v.r.ReadAt(p, off)
	end := off + int64(n)
	// Spans starting before end, walked back while one may reach off.
	i, _ := slices.BinarySearchFunc(v.rev, end, func(s span, t int64) int { return cmp.Compare(s.off, t) })
	for i--; i >= 0 && v.maxEnd[i] > off; i-- {
		s := v.rev[i]
		if lo, hi := max(s.off, off), min(s.off+s.n, end); lo < hi {
			reverseBytes(p[lo-off : hi-off])
		}
	}
	return n, err
}

// decodeJPEG decodes a JPEG-compressed page (TIFF Technical Note 2,
// compression 7): each strip is a JPEG stream whose tables may be kept once
// in the JPEGTables tag, an abbreviated stream from SOI to EOI.
func (p *Page) decodeJPEG() (image.Image, error) {
	in := &p.Info
	if in.Tiled || p.planar == 2 {
		return nil, p.errf(-1, ErrUnsupported, "tiled or planar JPEG pages")
	}
	var tables []byte
	if p.jpegTab != nil {
		t, err := p.r.raw(p.jpegTab, p.r.limits.MaxValueBytes)
		if err != nil {
			return nil, err
		}
		// Keep what lies between SOI and EOI.
		if len(t) >= 4 && t[0] == 0xff && t[1] == 0xd8 {
			t = t[2:]
			if n := len(t); n >= 2 && t[n-2] == 0xff && t[n-1] == 0xd9 {
				t = t[:n-2]
			}
			tables = t
		}
	}
	rect := image.Rect(0, 0, in.Width, in.Height)
	var dst draw.Image
	if in.SamplesPerPixel == 1 {
		dst = image.NewGray(rect)
	} else {
		dst = image.NewRGBA(rect)
	}
	for i := 0; i < in.Strips; i++ {
		sr, err := p.strip(i)
		if err != nil {
			return nil, err
		}
		if sr.Size() > p.r.limits.MaxImageBytes {
			return nil, p.errf(-1, ErrTooLarge, "JPEG strip of %d bytes", sr.Size())
		}
		// ReadAll grows with the data there is: a stream's strip size is
		// not checked against the file's.
		data, err := io.ReadAll(sr)
		if err != nil {
			return nil, p.errf(-1, ErrCorrupt, "reading JPEG strip: %v", err)
		}
		if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
			return nil, p.errf(-1, ErrCorrupt, "JPEG strip %d lacks SOI", i)
		}
		stream := data
		if tables != nil {
			stream = make([]byte, 0, 2+len(tables)+len(data))
			stream = append(stream, 0xff, 0xd8)
			stream = append(stream, tables...)
			stream = append(stream, data[2:]...)
		}
		y0 := i * in.RowsPerStrip
		rows := min(in.RowsPerStrip, in.Height-y0)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(stream))
		if err != nil {
			return nil, p.errf(-1, ErrCorrupt, "JPEG strip %d: %v", i, err)
		}
		// A strip may claim a larger frame than the page (a bomb): refuse it.
		if cfg.Width > in.Width+16 || cfg.Height > rows+16 {
			return nil, p.errf(-1, ErrCorrupt, "JPEG strip %d is %d x %d, page strip is %d x %d", i, cfg.Width, cfg.Height, in.Width, rows)
		}
		img, err := jpeg.Decode(bytes.NewReader(stream))
		if err != nil {
			return nil, p.errf(-1, ErrCorrupt, "JPEG strip %d: %v", i, err)
		}
		draw.Draw(dst, image.Rect(0, y0, in.Width, y0+rows), img, img.Bounds().Min, draw.Src)
	}
	if g, ok := dst.(*image.Gray); ok && in.Photometric == WhiteIsZero {
		for i, v := range g.Pix {
			g.Pix[i] = ^v
		}
	}
	return dst, nil
}
