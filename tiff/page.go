package tiff

import (
	"bufio"
	"image"
	"io"
	"math/bits"
	"slices"

	"github.com/faxkit/faxkit/t4"
)

// Page is one image (IFD) of a TIFF file. It holds the page's tags and strip
// table; its pixels are read from the file only when Bitmap or Image is
// called, so a long document is never in memory at once.
type Page struct {
	// Info is what the page's tags say.
	Info PageInfo

	r         *Reader
	index     int
	ifdOff    int64
	offsets   []uint64 // strip (or tile) offsets
	counts    []uint64 // strip (or tile) byte counts
	bps       []uint64 // BitsPerSample, one per sample
	tileW     int
	tileH     int
	planar    int
	jpegTab   *entry // JPEGTables, read when needed
	cmap      *entry // ColorMap, read when needed
	predictor int
	stats     t4.Stats
}

// Index returns the page's zero-based position in the file.
func (p *Page) Index() int { return p.index }

// Stats returns the codec's statistics of the last Bitmap call: rows
// decoded, rows that were corrupt and concealed (including rows missing
// from truncated data) and the longest run of them. It is zero for pages
// that are not CCITT coded.
func (p *Page) Stats() t4.Stats { return p.stats }

func (p *Page) errf(off int64, sentinel error, format string, args ...any) error {
	return p.r.errf(p.index, off, sentinel, format, args...)
}

// parse fills the page from its IFD entries and checks them against the
// limits. Values are read only for the tags this package uses.
func (p *Page) parse(entries []entry) error {
	r := p.r
	lim := r.limits
	var byTag = make(map[uint16]*entry, len(entries))
	for i := range entries {
		if _, dup := byTag[entries[i].tag]; !dup { // the first of duplicates wins, as in libtiff
			byTag[entries[i].tag] = &entries[i]
		}
	}
	num := func(tag uint16, def uint64) (uint64, error) {
		e := byTag[tag]
		if e == nil || e.count == 0 {
			return def, nil
		}
		return r.first(e)
	}
	str := func(tag uint16) (string, error) {
		if e := byTag[tag]; e != nil {
			return r.ascii(e)
		}
		return "", nil
	}
	in := &p.Info
	w, err := num(tagImageWidth, 0)
	if err != nil {
		return err
	}
	h, err := num(tagImageLength, 0)
	if err != nil {
		return err
	}
	c, err := num(tagCompression, 1)
	if err != nil {
		return err
	}
	in.Compression = Compression(c)
	ccitt := in.Compression == CompressionCCITTRLE || in.Compression == CompressionGroup3 || in.Compression == CompressionGroup4
	// A fax written as it was received may lack ImageLength (or hold 0):
	// with one strip of CCITT data the rows are counted from the data
	// below. libtiff refuses such pages.
	rowsFromData := h == 0 && ccitt && byTag[tagTileWidth] == nil && byTag[tagStripOffsets] != nil && byTag[tagStripOffsets].count == 1
	if rowsFromData {
		h = 1
	}
	if w == 0 || h == 0 {
		return p.errf(p.ifdOff, ErrCorrupt, "missing or zero ImageWidth/ImageLength")
	}
	if w > uint64(lim.MaxWidth) || h > uint64(lim.MaxHeight) || w > uint64(lim.MaxPixels)/h {
		return p.errf(p.ifdOff, ErrTooLarge, "page of %d x %d pixels (limits %d x %d, %d pixels)", w, h, lim.MaxWidth, lim.MaxHeight, lim.MaxPixels)
	}
	in.Width, in.Height = int(w), int(h)

	spp, err := num(tagSamplesPerPixel, 1)
	if err != nil {
		return err
	}
	if spp == 0 || spp > 16 {
		return p.errf(p.ifdOff, ErrUnsupported, "%d samples per pixel", spp)
	}
	in.SamplesPerPixel = int(spp)
	if e := byTag[tagBitsPerSample]; e != nil && e.count > 0 {
		if p.bps, err = r.uints(e, 16); err != nil {
			return err
		}
	} else {
		p.bps = []uint64{1}
	}
	if p.bps[0] == 0 || p.bps[0] > 64 {
		return p.errf(p.ifdOff, ErrUnsupported, "%d bits per sample", p.bps[0])
	}
	in.BitsPerSample = int(p.bps[0])

	// A missing PhotometricInterpretation is an error in TIFF 6.0; like
	// libtiff we assume min-is-white for fax data and min-is-black else.
	defPhoto := uint64(BlackIsZero)
	if ccitt {
		defPhoto = uint64(WhiteIsZero)
	} else if spp >= 3 {
		defPhoto = uint64(RGB)
	}
	ph, err := num(tagPhotometric, defPhoto)
	if err != nil {
		return err
	}
	in.Photometric = Photometric(ph)

	fo, err := num(tagFillOrder, 1)
	if err != nil {
		return err
	}
	in.FillOrder = MSBFirst
	if fo == 2 {
		in.FillOrder = LSBFirst
	}
	t4o, err := num(tagT4Options, 0)
	if err != nil {
		return err
	}
	in.T4Options = uint32(t4o)
	t6o, err := num(tagT6Options, 0)
	if err != nil {
		return err
	}
	in.T6Options = uint32(t6o)

	if e := byTag[tagXResolution]; e != nil {
		if in.XResolution, err = r.rational(e); err != nil {
			return err
		}
	}
	if e := byTag[tagYResolution]; e != nil {
		if in.YResolution, err = r.rational(e); err != nil {
			return err
		}
	}
	ru, err := num(tagResolutionUnit, uint64(UnitInch))
	if err != nil {
		return err
	}
	in.ResolutionUnit = ResolutionUnit(ru)
	or, err := num(tagOrientation, 1)
	if err != nil {
		return err
	}
	in.Orientation = int(min(or, 8))
	st, err := num(tagNewSubfileType, 0)
	if err != nil {
		return err
	}
	in.SubfileType = uint32(st)
	if e := byTag[tagPageNumber]; e != nil && e.count >= 2 {
		v, err := r.uints(e, 2)
		if err != nil {
			return err
		}
		in.PageNumber, in.PageCount, in.HasPageNumber = int(min(v[0], 1<<16)), int(min(v[1], 1<<16)), true
	}
	for _, s := range []struct {
		tag uint16
		dst *string
	}{
		{tagSoftware, &in.Software}, {tagDateTime, &in.DateTime}, {tagImageDescription, &in.ImageDescription},
		{tagDocumentName, &in.DocumentName}, {tagMake, &in.Make}, {tagModel, &in.Model}, {tagHostComputer, &in.HostComputer},
	} {
		if *s.dst, err = str(s.tag); err != nil {
			return err
		}
	}
	bad, err := num(tagBadFaxLines, 0)
	if err != nil {
		return err
	}
	in.BadFaxLines = int(min(bad, 1<<31))
	cfd, err := num(tagCleanFaxData, 0)
	if err != nil {
		return err
	}
	in.CleanFaxData = CleanFaxData(cfd)
	cbad, err := num(tagConsecutiveBadFaxLines, 0)
	if err != nil {
		return err
	}
	in.ConsecutiveBadFaxLines = int(min(cbad, 1<<31))
	pl, err := num(tagPlanarConfig, 1)
	if err != nil {
		return err
	}
	p.planar = int(min(pl, 3))
	p.jpegTab = byTag[tagJPEGTables]
	p.cmap = byTag[tagColorMap]
	pr, err := num(tagPredictor, 1)
	if err != nil {
		return err
	}
	p.predictor = int(min(pr, 4))

	// Strips or tiles (TIFF 6.0 sections 3 and 15).
	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	var want uint64
	if byTag[tagTileWidth] != nil {
		in.Tiled = true
		offTag, cntTag = tagTileOffsets, tagTileByteCounts
		tw, err := num(tagTileWidth, 0)
		if err != nil {
			return err
		}
		tl, err := num(tagTileLength, 0)
		if err != nil {
			return err
		}
		if tw == 0 || tl == 0 || tw > uint64(lim.MaxWidth) || tl > uint64(lim.MaxHeight) {
			return p.errf(p.ifdOff, ErrCorrupt, "bad tile size %d x %d", tw, tl)
		}
		p.tileW, p.tileH = int(tw), int(tl)
		want = ((w + tw - 1) / tw) * ((h + tl - 1) / tl)
	} else {
		rps, err := num(tagRowsPerStrip, h)
		if err != nil {
			return err
		}
		if rps == 0 || rps > h {
			rps = h
		}
		in.RowsPerStrip = int(rps)
		want = (h + rps - 1) / rps
	}
	if p.planar == 2 {
		want *= spp
	}
	if want > uint64(lim.MaxStrips) {
		return p.errf(p.ifdOff, ErrTooLarge, "%d strips (limit %d)", want, lim.MaxStrips)
	}
	oe := byTag[offTag]
	if oe == nil || oe.count == 0 {
		return p.errf(p.ifdOff, ErrCorrupt, "no strip offsets")
	}
	if oe.count == 1 && want > 1 && !in.Tiled && p.planar != 2 {
		if ce := byTag[cntTag]; ce == nil || ce.count == 1 {
			// One strip but a RowsPerStrip smaller than the page: fax
			// software that writes the page in one piece and a
			// RowsPerStrip of its own. libtiff refuses the page; the
			// strip is self-evidently the whole page.
			in.RowsPerStrip, want = in.Height, 1
		}
	}
	if oe.count < want {
		return p.errf(p.ifdOff, ErrCorrupt, "%d strip offsets for %d strips", oe.count, want)
	}
	if oe.count > want { // extra entries are ignored, as libtiff does
		c := *oe
		c.count = want
		if c.inline != nil {
			c.inline = c.inline[:int(want)*sizeOfType(c.typ)]
		}
		oe = &c
	}
	if p.offsets, err = r.uints(oe, lim.MaxStrips); err != nil {
		return err
	}
	if ce := byTag[cntTag]; ce != nil && ce.count >= want {
		c := *ce
		c.count = want
		if c.inline != nil {
			c.inline = c.inline[:int(want)*sizeOfType(c.typ)]
		}
		if p.counts, err = r.uints(&c, lim.MaxStrips); err != nil {
			return err
		}
	} else {
		p.counts = make([]uint64, want)
	}
	p.estimateCounts()
	in.Strips = int(want)
	if rowsFromData {
		n, err := p.countRows()
		if err != nil {
			return err
		}
		in.Height, in.RowsPerStrip = n, n
	}
	return nil
}

// estimateCounts repairs a missing, short or zero StripByteCounts, as
// libtiff does for one strip ("Bogus StripByteCounts", software that
// writes 0 when it does not know the size) and beyond it for many: a strip
// whose count is 0 is taken to run to the next strip's start, or to the end
// of the file. The data of every compression a fax page uses ends itself
// (the page's rows), so the guess only bounds what may be read.
func (p *Page) estimateCounts() {
	var sorted []uint64
	for i, n := range p.counts {
		off := p.offsets[i]
		if n != 0 || off == 0 {
			continue
		}
		if sorted == nil {
			sorted = slices.Clone(p.offsets)
			slices.Sort(sorted)
		}
		end := uint64(p.r.size)
		if j, _ := slices.BinarySearch(sorted, off+1); j < len(sorted) {
			end = min(end, sorted[j])
		}
		if off < end {
			p.counts[i] = end - off
		}
	}
}

// strip returns a reader of strip i's bytes. A strip that runs past the end
// of the file is cut short there (received faxes are often truncated); one
// that starts past the end is an error.
func (p *Page) strip(i int) (*io.SectionReader, error) {
	off, n := p.offsets[i], p.counts[i]
	size := uint64(p.r.size)
	if off > size || (off == size && n > 0) {
		return nil, p.errf(int64(min(off, 1<<62)), ErrCorrupt, "strip %d starts past the end of the file", i)
	}
	n = min(n, size-off)
	return io.NewSectionReader(p.r.r, int64(off), int64(n)), nil
}

// bilevelNative reports whether the page is decoded by this package's own
// bilevel path (as opposed to x/image/tiff or the JPEG path).
func (p *Page) bilevelNative() bool {
	in := &p.Info
	if !in.Bilevel() || p.planar == 2 {
		return false
	}
	switch in.Compression {
	case CompressionNone, CompressionPackBits, CompressionCCITTRLE, CompressionGroup3, CompressionGroup4:
		return true
	}
	return false
}

// Bitmap decodes the page as a bilevel page. Fax pages (1 bit per pixel,
// min-is-white or min-is-black) are decoded exactly; grey, palette and
// colour pages are decoded with Image and thresholded at mid-grey at their
// own size (use ToFax to scale and dither them instead).
//
// Rows that a CCITT-coded page lacks (truncated data) come out white and
// are counted in Stats as bad rows; rows the codec found corrupt are
// concealed by it and counted too.
func (p *Page) Bitmap() (*t4.Bitmap, error) {
	p.stats = t4.Stats{}
	if !p.bilevelNative() {
		img, err := p.Image()
		if err != nil {
			return nil, err
		}
		return t4.FromImage(img, nil), nil
	}
	in := &p.Info
	if in.Width > t4.MaxWidth {
		return nil, p.errf(-1, ErrTooLarge, "bilevel page %d pixels wide (limit %d)", in.Width, t4.MaxWidth)
	}
	b := t4.NewBitmap(in.Width, in.Height)
	err := p.decodeBilevel(ccittState{}, b)
	ccitt := in.Compression == CompressionCCITTRLE || in.Compression == CompressionGroup3 || in.Compression == CompressionGroup4
	if !ccitt || (err == nil && p.stats.BadRows == 0) {
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	// The page is damaged, or its tags misstate the coding: fax software
	// gets FillOrder wrong (the bits of a fax line arrive LSB first) and
	// Group 3 files claim 1-D data that is 2-D or the reverse. libtiff
	// decodes such pages as noise. Try the other readings and keep the one
	// with the fewest bad rows; wrong readings make nearly every row bad,
	// so a page that is merely damaged keeps its tags' reading. At most two
	// bitmaps are held: the best so far and the one being tried.
	best, bestErr, bestStats, spare := b, err, p.stats, (*t4.Bitmap)(nil)
	if err != nil {
		best, spare = nil, b
	}
	for _, g := range []ccittState{{flipFill: true}, {flip2D: true}, {flipFill: true, flip2D: true}} {
		if g.flip2D && in.Compression != CompressionGroup3 {
			continue
		}
		if spare == nil {
			spare = t4.NewBitmap(in.Width, in.Height)
		} else {
			clear(spare.Pix)
		}
		p.stats = t4.Stats{}
		if err := p.decodeBilevel(g, spare); err == nil && (bestErr != nil || p.stats.BadRows < bestStats.BadRows) {
			best, spare = spare, best
			bestErr, bestStats = nil, p.stats
			if p.stats.BadRows == 0 {
				break
			}
		}
	}
	p.stats = bestStats
	if bestErr != nil {
		return nil, bestErr
	}
	return best, nil
}

// decodeBilevel decodes a page of the bilevel path into the white bitmap
// b, reading CCITT data as cs says.
func (p *Page) decodeBilevel(cs ccittState, b *t4.Bitmap) error {
	in := &p.Info
	if in.Tiled {
		if err := p.readTiles(&cs, b); err != nil {
			return err
		}
		if in.Photometric == BlackIsZero {
			invert(b)
		}
		return nil
	}
	for i := 0; i < in.Strips; i++ {
		y0 := i * in.RowsPerStrip
		y1 := min(y0+in.RowsPerStrip, in.Height)
		sr, err := p.strip(i)
		if err != nil {
			return err
		}
		switch in.Compression {
		case CompressionNone:
			err = p.readRaw(b, y0, y1, sr)
		case CompressionPackBits:
			err = p.readPackBits(b, y0, y1, sr)
		default:
			err = p.readCCITT(&cs, b, y0, y1, sr)
		}
		if err != nil {
			return err
		}
	}
	if in.Photometric == BlackIsZero {
		invert(b)
	}
	return nil
}

// readTiles decodes a tiled bilevel page (TIFF 6.0 section 15): each tile
// is a small image of TileWidth x TileLength pixels, coded on its own, laid
// left to right and top to bottom; the tiles on the right and bottom edges
// overhang the page and are cropped.
func (p *Page) readTiles(cs *ccittState, b *t4.Bitmap) error {
	in := &p.Info
	if p.tileW > t4.MaxWidth || int64(p.tileW)*int64(p.tileH) > p.r.limits.MaxPixels {
		return p.errf(-1, ErrTooLarge, "tile of %d x %d pixels", p.tileW, p.tileH)
	}
	across := (in.Width + p.tileW - 1) / p.tileW
	tile := t4.NewBitmap(p.tileW, p.tileH)
	for i := 0; i < in.Strips; i++ {
		x0, y0 := i%across*p.tileW, i/across*p.tileH
		sr, err := p.strip(i)
		if err != nil {
			return err
		}
		clear(tile.Pix)
		switch in.Compression {
		case CompressionNone:
			err = p.readRaw(tile, 0, p.tileH, sr)
		case CompressionPackBits:
			err = p.readPackBits(tile, 0, p.tileH, sr)
		default:
			err = p.readCCITT(cs, tile, 0, p.tileH, sr)
		}
		if err != nil {
			return err
		}
		n := min(p.tileW, in.Width-x0)
		for y := y0; y < min(y0+p.tileH, in.Height); y++ {
			blitRow(b.Row(y), x0, tile.Row(y-y0), n)
		}
	}
	return nil
}

// readRaw copies uncompressed rows. With FillOrder 2 the bits of every byte
// are reversed first, as libtiff does for all non-CCITT data.
func (p *Page) readRaw(b *t4.Bitmap, y0, y1 int, sr *io.SectionReader) error {
	need := int64(y1-y0) * int64(b.Stride)
	if sr.Size() < need {
		return p.errf(-1, ErrCorrupt, "uncompressed strip of %d bytes, need %d", sr.Size(), need)
	}
	dst := b.Pix[y0*b.Stride : y1*b.Stride]
	if _, err := io.ReadFull(sr, dst); err != nil {
		return p.errf(-1, ErrCorrupt, "reading strip: %v", err)
	}
	if p.Info.FillOrder == LSBFirst {
		reverseBytes(dst)
	}
	clearPadding(b, y0, y1)
	return nil
}

// readPackBits decodes PackBits (TIFF 6.0 section 9) rows. The output is
// bounded by the rows, so a hostile strip cannot make it allocate.
func (p *Page) readPackBits(b *t4.Bitmap, y0, y1 int, sr *io.SectionReader) error {
	dst := b.Pix[y0*b.Stride : y1*b.Stride]
	br := bufio.NewReaderSize(&bitRevReader{r: sr, rev: p.Info.FillOrder == LSBFirst}, 4096)
	if err := unpackBits(br, dst); err != nil {
		return p.errf(-1, ErrCorrupt, "PackBits strip: %v", err)
	}
	clearPadding(b, y0, y1)
	return nil
}

// unpackBits fills dst from PackBits data: a header byte n then n+1 literal
// bytes (0 <= n <= 127), or one byte repeated 1-n times (-127 <= n <= -1);
// -128 is a no-op.
func unpackBits(r *bufio.Reader, dst []byte) error {
	for i := 0; i < len(dst); {
		h, err := r.ReadByte()
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		n := int(int8(h))
		switch {
		case n >= 0:
			m := min(n+1, len(dst)-i)
			if _, err := io.ReadFull(r, dst[i:i+m]); err != nil {
				return io.ErrUnexpectedEOF
			}
			i += m
			if m < n+1 {
				_, _ = r.Discard(n + 1 - m)
			}
		case n != -128:
			v, err := r.ReadByte()
			if err != nil {
				return io.ErrUnexpectedEOF
			}
			m := min(1-n, len(dst)-i)
			for k := range m {
				dst[i+k] = v
			}
			i += m
		}
	}
	return nil
}

// invert flips every pixel of b, keeping the padding bits zero.
func invert(b *t4.Bitmap) {
	for i := range b.Pix {
		b.Pix[i] = ^b.Pix[i]
	}
	clearPadding(b, 0, b.Height)
}

// clearPadding zeroes the bits after the last pixel of rows y0..y1-1.
func clearPadding(b *t4.Bitmap, y0, y1 int) {
	r := b.Width & 7
	if r == 0 {
		return
	}
	m := byte(0xff) << uint(8-r)
	for y := y0; y < y1; y++ {
		b.Pix[y*b.Stride+b.Stride-1] &= m
	}
}

func reverseBytes(p []byte) {
	for i, v := range p {
		p[i] = bits.Reverse8(v)
	}
}

// bitRevReader reverses the bits of every byte read when rev is set.
type bitRevReader struct {
	r   io.Reader
	rev bool
}

func (b *bitRevReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.rev {
		reverseBytes(p[:n])
	}
	return n, err
}

// Image decodes the page in its own colour model: a *t4.Bitmap for bilevel
// pages, otherwise an image of the standard library's types (image.Gray,
// image.Paletted, image.RGBA, ...). Non-fax pages are decoded by
// golang.org/x/image/tiff (LZW, Deflate, PackBits, none) or image/jpeg
// (JPEG, compression 7).
func (p *Page) Image() (image.Image, error) {
	if p.bilevelNative() {
		return p.Bitmap()
	}
	return p.decodeOther()
}
