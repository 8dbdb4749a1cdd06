package t4

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLineWidthPels checks the scan line lengths against T.4 clause 2.2
// and T.30 Table 2 (the figures spandsp's t4_tx.c lists too).
func TestLineWidthPels(t *testing.T) {
	for _, tc := range []struct {
		r          Resolution
		a4, b4, a3 int
	}{
		{ResStandard, 1728, 2048, 2432},
		{ResFine, 1728, 2048, 2432},
		{ResSuperfine, 1728, 2048, 2432},
		{Res300, 2592, 3072, 3648},
		{Res300x600, 2592, 3072, 3648},
		{ResR16, 3456, 4096, 4864},
		{Res400, 3456, 4096, 4864},
		{Res400x800, 3456, 4096, 4864},
		{Res600, 5184, 6144, 7296},
		{Res600x1200, 5184, 6144, 7296},
		{Res1200, 10368, 12288, 14592},
		{ResUnknown, 0, 0, 0},
	} {
		t.Run(tc.r.String(), func(t *testing.T) {
			require.Equal(t, tc.a4, WidthA4.Pels(tc.r))
			require.Equal(t, tc.b4, WidthB4.Pels(tc.r))
			require.Equal(t, tc.a3, WidthA3.Pels(tc.r))
			for _, w := range []LineWidth{WidthA4, WidthB4, WidthA3} {
				got, ok := LineWidthOf(w.Pels(tc.r), tc.r)
				require.Equal(t, tc.r.Known(), ok)
				if ok {
					require.Equal(t, w, got)
				}
			}
		})
	}
	_, ok := LineWidthOf(1729, ResFine)
	require.False(t, ok)
	require.Equal(t, 0, LineWidth(9).Pels(ResFine))
	require.Equal(t, "LineWidth(9)", LineWidth(9).String())
}

func TestResolutionFigures(t *testing.T) {
	require.Equal(t, 3.85, ResStandard.LinesPerMM())
	require.Equal(t, 7.7, ResFine.LinesPerMM())
	require.Equal(t, 15.4, ResSuperfine.LinesPerMM())
	require.Equal(t, 15.4, ResR16.LinesPerMM())
	require.InDelta(t, 15.75, Res400.LinesPerMM(), 0.01)
	require.Equal(t, 0.0, ResUnknown.LinesPerMM())
	require.Equal(t, "Resolution(200)", Resolution(200).String())
	require.False(t, Resolution(200).Known())
	require.Equal(t, 1.0, Resolution(200).Aspect())
	for _, tc := range []struct {
		x, y float64
		want Resolution
	}{
		{204, 98, ResStandard}, {200, 100, ResStandard}, {203.2, 97.79, ResStandard},
		{204, 196, ResFine}, {200, 200, ResFine}, {204, 391, ResSuperfine},
		{408, 391, ResR16}, {400, 400, Res400}, {300, 300, Res300}, {1200, 1200, Res1200},
		{72, 72, ResUnknown}, {0, 0, ResUnknown},
	} {
		require.Equal(t, tc.want, ResolutionFromDPI(tc.x, tc.y), "%v x %v dpi", tc.x, tc.y)
	}
}

func TestPaper(t *testing.T) {
	require.Equal(t, 2292, PaperA4.Rows(ResFine))
	require.Equal(t, 1146, PaperA4.Rows(ResStandard))
	require.Equal(t, 1078, PaperLetter.Rows(ResStandard))
	require.Equal(t, 0, PaperContinuous.Rows(ResFine))
	require.Equal(t, 0, PaperA4.Rows(ResUnknown))
	require.Equal(t, WidthB4R8, PaperB4.Pels(ResFine))
	require.Equal(t, WidthA3R16, PaperA3.Pels(ResR16))
	require.Equal(t, WidthA4R300, PaperLegal.Pels(Res300))
	require.Equal(t, "Paper(9)", Paper(9).String())
	require.Equal(t, WidthA4, Paper(9).LineWidth())
}
