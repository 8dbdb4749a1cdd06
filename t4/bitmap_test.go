package t4

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBitmapPacking(t *testing.T) {
	b := NewBitmap(10, 3)
	require.Equal(t, 2, b.Stride)
	require.Len(t, b.Pix, 6)

	b.SetBlack(0, 0, true)
	b.SetBlack(9, 0, true)
	b.SetBlack(8, 2, true)
	// Bit 7 of the first byte is the leftmost pixel; pixel 9 is bit 6 of byte 1.
	assert.Equal(t, []byte{0x80, 0x40}, b.Row(0))
	assert.Equal(t, []byte{0x00, 0x80}, b.Row(2))
	assert.Equal(t, 3, b.Black())

	// Outside the page: ignored on write, white on read; no panic.
	b.SetBlack(10, 0, true)
	b.SetBlack(-1, 0, true)
	b.SetBlack(0, 3, true)
	assert.Equal(t, 3, b.Black())
	assert.Equal(t, uint8(0), b.ColorIndexAt(-1, 0))

	b.SetBlack(0, 0, false)
	assert.Equal(t, []byte{0x00, 0x40}, b.Row(0))
}

func TestBitmapIsADrawImage(t *testing.T) {
	var _ draw.Image = (*Bitmap)(nil)
	b := NewBitmap(4, 2)
	b.Set(1, 0, color.Black)
	b.Set(2, 0, color.Gray{Y: 0x7f}) // darker than mid-grey: black
	b.Set(3, 0, color.Gray{Y: 0x80}) // not darker: white
	b.Set(0, 1, color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff})
	assert.Equal(t, []byte{0x60}, b.Row(0))
	assert.Equal(t, color.Gray{Y: 0}, b.At(1, 0))
	assert.Equal(t, color.Gray{Y: 0xff}, b.At(0, 1))
	assert.Equal(t, image.Rect(0, 0, 4, 2), b.Bounds())

	// draw.Draw through the generic interface gives the same pixels.
	d := NewBitmap(4, 2)
	draw.Draw(d, d.Bounds(), b, image.Point{}, draw.Src)
	assert.True(t, d.Equal(b))
	c := b.Clone()
	c.SetBlack(0, 1, true)
	assert.False(t, c.Equal(b), "Clone must not alias")
}

func TestBlackInRowIgnoresPadding(t *testing.T) {
	row := []byte{0xff, 0xff}
	assert.Equal(t, 12, blackInRow(row, 12))
	assert.Equal(t, 16, blackInRow(row, 16))
	assert.Equal(t, 1, blackInRow(row, 1))
}
