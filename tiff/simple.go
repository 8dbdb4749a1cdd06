package tiff

import (
	"bufio"
	"compress/zlib"
	"image"
	"image/color"
	"io"

	"golang.org/x/image/tiff/lzw"
)

// simpleOK reports whether decodeSimple handles the page: one grey or
// palette sample of 1, 2, 4 or 8 bits in strips, uncompressed, LZW,
// Deflate or PackBits, with horizontal differencing only for 8 bits. It
// serves what x/image/tiff does not: 2- and 4-bit pages (scanners and
// ImageMagick write 4-bit palettes), the pages of BigTIFF files, and
// bilevel LZW or Deflate pages with FillOrder 2.
func (p *Page) simpleOK() bool {
	in := &p.Info
	if in.Tiled || p.planar == 2 || in.SamplesPerPixel != 1 || p.predictor > 2 || (p.predictor == 2 && in.BitsPerSample != 8) {
		return false
	}
	switch in.BitsPerSample {
	case 1, 2, 4, 8:
	default:
		return false
	}
	switch in.Photometric {
	case WhiteIsZero, BlackIsZero, Paletted:
	default:
		return false
	}
	switch in.Compression {
	case CompressionNone, CompressionLZW, CompressionDeflate, CompressionAdobeDeflate, CompressionPackBits:
		return true
	}
	return false
}

// decodeSimple decodes a page simpleOK accepts into an image.Gray or
// image.Paletted.
func (p *Page) decodeSimple() (image.Image, error) {
	in := &p.Info
	bps := in.BitsPerSample
	rect := image.Rect(0, 0, in.Width, in.Height)
	var pix []byte
	var stride int
	var img image.Image
	levels := 1<<bps - 1
	if in.Photometric == Paletted {
		if p.cmap == nil {
			return nil, p.errf(-1, ErrCorrupt, "palette page without ColorMap")
		}
		n := 1 << bps
		cm, err := p.r.uints(p.cmap, 3*n)
		if err != nil {
			return nil, err
		}
		if len(cm) != 3*n {
			return nil, p.errf(-1, ErrCorrupt, "ColorMap of %d values for %d bits", len(cm), bps)
		}
		pal := make(color.Palette, n)
		for i := range pal {
			pal[i] = color.RGBA64{R: uint16(cm[i]), G: uint16(cm[n+i]), B: uint16(cm[2*n+i]), A: 0xffff}
		}
		pi := image.NewPaletted(rect, pal)
		pix, stride, img = pi.Pix, pi.Stride, pi
	} else {
		g := image.NewGray(rect)
		pix, stride, img = g.Pix, g.Stride, g
	}
	rowBytes := (in.Width*bps + 7) / 8
	buf := make([]byte, rowBytes*min(in.RowsPerStrip, in.Height))
	for i := 0; i < in.Strips; i++ {
		y0 := i * in.RowsPerStrip
		rows := min(in.RowsPerStrip, in.Height-y0)
		sr, err := p.strip(i)
		if err != nil {
			return nil, err
		}
		var r io.Reader = &bitRevReader{r: sr, rev: in.FillOrder == LSBFirst}
		data := buf[:rows*rowBytes]
		var closer io.Closer
		switch in.Compression {
		case CompressionNone:
		case CompressionLZW:
			lr := lzw.NewReader(r, lzw.MSB, 8)
			r, closer = lr, lr
		case CompressionDeflate, CompressionAdobeDeflate:
			zr, err := zlib.NewReader(r)
			if err != nil {
				return nil, p.errf(-1, ErrCorrupt, "Deflate strip %d: %v", i, err)
			}
			r = zr
		case CompressionPackBits:
			if err := unpackBits(bufio.NewReader(r), data); err != nil {
				return nil, p.errf(-1, ErrCorrupt, "PackBits strip %d: %v", i, err)
			}
			r = nil
		}
		if r != nil {
			_, err := io.ReadFull(r, data)
			if closer != nil {
				closer.Close()
			}
			if err != nil {
				return nil, p.errf(-1, ErrCorrupt, "%s strip %d: %v", in.Compression, i, err)
			}
		}
		for y := 0; y < rows; y++ {
			src := data[y*rowBytes : (y+1)*rowBytes]
			if p.predictor == 2 { // horizontal differencing (TIFF 6.0 section 14)
				for x := 1; x < len(src); x++ {
					src[x] += src[x-1]
				}
			}
			dst := pix[(y0+y)*stride : (y0+y)*stride+in.Width]
			for x := range dst {
				bit := x * bps
				v := int(src[bit>>3]>>(8-bps-bit&7)) & levels
				if in.Photometric != Paletted {
					v = v * 255 / levels
					if in.Photometric == WhiteIsZero {
						v = 255 - v
					}
				}
				dst[x] = uint8(v)
			}
		}
	}
	return img, nil
}
