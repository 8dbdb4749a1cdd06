package t4

import (
	"image"
	"image/color"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func grayRamp(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetGray(x, y, color.Gray{Y: uint8(x * 255 / (w - 1))})
		}
	}
	return g
}

func TestFromImageThreshold(t *testing.T) {
	g := grayRamp(256, 4)
	b := FromImage(g, nil)
	require.Equal(t, 256, b.Width)
	require.Equal(t, 4, b.Height)
	for y := 0; y < 4; y++ {
		for x := 0; x < 256; x++ {
			want := uint8(0)
			if g.GrayAt(x, y).Y < 128 {
				want = 1
			}
			require.Equal(t, want, b.ColorIndexAt(x, y), "x=%d y=%d", x, y)
		}
	}
	// A custom threshold moves the edge.
	b = FromImage(g, &ConvertOptions{Threshold: 64})
	assert.Equal(t, 64*4, b.Black())
}

// Dithering must reproduce the mean grey level of a flat area within a few
// percent, and error diffusion must not leak outside a flat white or black
// area (no speckles on paper-white).
func TestDitherPreservesTone(t *testing.T) {
	for _, d := range []Dither{FloydSteinberg, Ordered} {
		for _, level := range []uint8{0, 32, 96, 128, 200, 255} {
			g := image.NewGray(image.Rect(0, 0, 200, 100))
			for i := range g.Pix {
				g.Pix[i] = level
			}
			b := FromImage(g, &ConvertOptions{Dither: d})
			black := float64(b.Black()) / float64(200*100)
			want := 1 - float64(level)/255
			assert.InDelta(t, want, black, 0.03, "%v level %d", d, level)
			if level == 255 {
				assert.Zero(t, b.Black(), "%v speckles white paper", d)
			}
		}
	}
}

func TestFromImageScalesToFaxWidth(t *testing.T) {
	// A 100x50 image with a black left half, scaled to 1728 wide with fine
	// resolution aspect (196/204): height follows the aspect ratio.
	src := image.NewGray(image.Rect(0, 0, 100, 50))
	for i := range src.Pix {
		src.Pix[i] = 0xff
	}
	for y := 0; y < 50; y++ {
		for x := 0; x < 50; x++ {
			src.SetGray(x, y, color.Gray{})
		}
	}
	b := FromImage(src, &ConvertOptions{Width: WidthA4R8, Aspect: 196.0 / 204})
	require.Equal(t, WidthA4R8, b.Width)
	assert.Equal(t, 830, b.Height) // 50 * 1728/100 * 196/204 = 830.1
	y := b.Height / 2
	assert.Equal(t, uint8(1), b.ColorIndexAt(10, y))
	assert.Equal(t, uint8(1), b.ColorIndexAt(WidthA4R8/2-20, y))
	assert.Equal(t, uint8(0), b.ColorIndexAt(WidthA4R8/2+20, y))
	assert.Equal(t, uint8(0), b.ColorIndexAt(WidthA4R8-1, y))
}

func TestFromImageBitmapAndEmpty(t *testing.T) {
	b := NewBitmap(9, 3)
	b.SetBlack(8, 2, true)
	c := FromImage(b, nil)
	assert.True(t, c.Equal(b))
	c.SetBlack(0, 0, true)
	assert.Equal(t, 1, b.Black(), "FromImage must copy")

	// Empty sources and sizes do not panic.
	e := FromImage(image.NewGray(image.Rectangle{}), &ConvertOptions{Width: 1728})
	assert.Equal(t, 0, e.Height)
	assert.Equal(t, "ordered", Ordered.String())
	assert.Equal(t, "Dither(9)", Dither(9).String())
}
