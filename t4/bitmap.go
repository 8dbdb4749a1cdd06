package t4

import (
	"image"
	"image/color"
	"math/bits"
)

// MaxWidth is the widest row any t4 function accepts. It bounds the memory a
// hostile width can make the codecs allocate (a few row buffers of
// MaxWidth/8 bytes and MaxWidth+2 changing elements).
const MaxWidth = 1 << 16

// Palette is the colour model of a Bitmap: index 0 is white, 1 is black.
var Palette = color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0}}

// Bitmap is a packed bilevel page: one bit per pixel, 1 = black, rows of whole
// bytes from top to bottom; within a byte bit 7 (0x80) is the leftmost pixel.
// Padding bits at the end of a row are zero. It implements image.Image and
// draw.Image; its pixels can also be read and written row by row through Row,
// which is what the codecs do.
type Bitmap struct {
	Width, Height int
	Stride        int    // bytes per row, (Width+7)/8
	Pix           []byte // len(Pix) == Stride*Height
}

// NewBitmap returns an all-white page of the given size. It panics if a
// dimension is negative, like image.NewGray does for a bad rectangle.
func NewBitmap(width, height int) *Bitmap {
	if width < 0 || height < 0 {
		panic("t4: negative bitmap size")
	}
	stride := (width + 7) / 8
	return &Bitmap{Width: width, Height: height, Stride: stride, Pix: make([]byte, stride*height)}
}

// Row returns row y's packed bytes, aliasing the bitmap.
func (b *Bitmap) Row(y int) []byte {
	return b.Pix[y*b.Stride : (y+1)*b.Stride : (y+1)*b.Stride]
}

// ColorModel implements image.Image.
func (b *Bitmap) ColorModel() color.Model { return Palette }

// Bounds implements image.Image.
func (b *Bitmap) Bounds() image.Rectangle { return image.Rect(0, 0, b.Width, b.Height) }

// At implements image.Image: black or white.
func (b *Bitmap) At(x, y int) color.Color { return Palette[b.ColorIndexAt(x, y)] }

// ColorIndexAt returns 1 for a black pixel and 0 for white or outside.
func (b *Bitmap) ColorIndexAt(x, y int) uint8 {
	if uint(x) >= uint(b.Width) || uint(y) >= uint(b.Height) {
		return 0
	}
	return b.Pix[y*b.Stride+x>>3] >> (7 - uint(x&7)) & 1
}

// Set implements draw.Image: a colour darker than mid-grey is black.
func (b *Bitmap) Set(x, y int, c color.Color) {
	g := color.Gray16Model.Convert(c).(color.Gray16)
	b.SetBlack(x, y, g.Y < 0x8000)
}

// SetBlack sets a pixel black (true) or white (false); outside is ignored.
func (b *Bitmap) SetBlack(x, y int, black bool) {
	if uint(x) >= uint(b.Width) || uint(y) >= uint(b.Height) {
		return
	}
	i := y*b.Stride + x>>3
	m := byte(0x80) >> uint(x&7)
	if black {
		b.Pix[i] |= m
	} else {
		b.Pix[i] &^= m
	}
}

// Clone returns a deep copy of b.
func (b *Bitmap) Clone() *Bitmap {
	c := *b
	c.Pix = append([]byte(nil), b.Pix...)
	return &c
}

// Equal reports whether two bitmaps have the same size and pixels.
func (b *Bitmap) Equal(o *Bitmap) bool {
	if b.Width != o.Width || b.Height != o.Height {
		return false
	}
	for y := 0; y < b.Height; y++ {
		if string(b.Row(y)) != string(o.Row(y)) {
			return false
		}
	}
	return true
}

// Black returns the number of black pixels (padding bits are not counted).
func (b *Bitmap) Black() int {
	n := 0
	for y := 0; y < b.Height; y++ {
		n += blackInRow(b.Row(y), b.Width)
	}
	return n
}

// blackInRow counts the black pixels among the first width pixels of row.
func blackInRow(row []byte, width int) int {
	n := 0
	full := width / 8
	for _, v := range row[:full] {
		n += bits.OnesCount8(v)
	}
	if r := width & 7; r != 0 {
		n += bits.OnesCount8(row[full] & (0xff << uint(8-r)))
	}
	return n
}
