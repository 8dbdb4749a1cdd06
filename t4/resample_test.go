package t4

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResampleGray(t *testing.T) {
	// Constant images stay constant, up or down.
	g := image.NewGray(image.Rect(0, 0, 37, 23))
	for i := range g.Pix {
		g.Pix[i] = 200
	}
	for _, sz := range [][2]int{{10, 7}, {37, 23}, {100, 61}, {1, 1}} {
		out := resampleGray(g, sz[0], sz[1])
		for _, v := range out.Pix {
			require.InDelta(t, 200, int(v), 1, "%v", sz)
		}
	}
	// A one-pixel checkerboard halved is mid-grey (area average).
	c := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if (x+y)&1 == 0 {
				c.Pix[y*64+x] = 255
			}
		}
	}
	out := resampleGray(c, 32, 32)
	for _, v := range out.Pix {
		require.InDelta(t, 127.5, float64(v), 1)
	}
	// A black column 1 pixel wide shrunk by 3 leaves a grey trace, not
	// nothing (nearest-neighbour would drop it two times in three).
	line := image.NewGray(image.Rect(0, 0, 30, 3))
	for i := range line.Pix {
		line.Pix[i] = 255
	}
	for y := 0; y < 3; y++ {
		line.Pix[y*30+13] = 0
	}
	out = resampleGray(line, 10, 1)
	require.InDelta(t, 170, int(out.Pix[4]), 2)
	// Growing interpolates: a step 0 -> 255 gets intermediate values.
	step := image.NewGray(image.Rect(0, 0, 2, 1))
	step.Pix[1] = 255
	out = resampleGray(step, 8, 1)
	require.Equal(t, uint8(0), out.Pix[0])
	require.Equal(t, uint8(255), out.Pix[7])
	require.Greater(t, out.Pix[4], out.Pix[3])
	require.Greater(t, out.Pix[3], uint8(0))
}
