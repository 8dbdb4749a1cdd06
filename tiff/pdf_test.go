package tiff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os/exec"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/stretchr/testify/require"
)

// minimalPDF writes a PDF with one A4 page per content stream, by hand, so
// the test needs no PDF library.
func minimalPDF(contents ...string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range contents {
		kids = append(kids, fmt.Sprintf("%d 0 R", 3+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(contents)))
	for i, c := range contents {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>", 4+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c), c))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

func TestPDFToFax(t *testing.T) {
	pdf := minimalPDF(
		"0 g 0 0 297.5 842 re f", // left half black
		"0 g 0 421 595 421 re f", // top half black
	)
	for _, r := range renderers {
		t.Run(r.name, func(t *testing.T) {
			peertest.Program(t, r.name, "apt-get install "+r.pkg)
			var buf bytes.Buffer
			w, err := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
			require.NoError(t, err)
			n, err := PDFToFax(context.Background(), w, bytes.NewReader(pdf),
				&PDFConfig{Renderer: r.name, DPI: 100}, &ConvertConfig{Resolution: ResStandard})
			require.NoError(t, err)
			require.Equal(t, 2, n)
			require.NoError(t, w.Close())
			pages, infos := readDoc(t, buf.Bytes())
			require.Len(t, pages, 2)
			for _, in := range infos {
				require.Equal(t, ResStandard, in.Resolution())
			}
			p := pages[0]
			require.Equal(t, 1728, p.Width)
			require.Equal(t, 1146, p.Height)
			// The A4 page (8.27 x 11.69 in) fits the page height, so it is
			// about 1687 columns wide, centred: x from 20 to 1707.
			require.Equal(t, 800*1100, blackIn(p, image.Rect(40, 20, 840, 1120)), "left half black")
			require.Zero(t, blackIn(p, image.Rect(0, 0, 15, 1146)), "left margin white")
			require.Zero(t, blackIn(p, image.Rect(880, 0, 1728, 1146)), "right half white")
			p = pages[1]
			require.Equal(t, 1600*540, blackIn(p, image.Rect(60, 10, 1660, 550)), "top half black")
			require.Zero(t, blackIn(p, image.Rect(0, 590, 1728, 1146)), "bottom half white")
		})
	}
}

func TestPDFMissingRendererNamesPrograms(t *testing.T) {
	none := func(string) (string, error) { return "", exec.ErrNotFound }
	err := RenderPDF(context.Background(), strings.NewReader("%PDF"), &PDFConfig{LookPath: none}, nil)
	require.ErrorIs(t, err, ErrNoRenderer)
	require.Contains(t, err.Error(), "gs (Debian package ghostscript)")
	require.Contains(t, err.Error(), "pdftoppm (Debian package poppler-utils)")

	err = RenderPDF(context.Background(), strings.NewReader("%PDF"), &PDFConfig{Renderer: "pdftoppm", LookPath: none}, nil)
	require.ErrorIs(t, err, ErrNoRenderer)
	require.Contains(t, err.Error(), "pdftoppm (Debian package poppler-utils)")
	require.NotContains(t, err.Error(), "gs ")

	err = RenderPDF(context.Background(), strings.NewReader("%PDF"), &PDFConfig{Renderer: "acrobat"}, nil)
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrNoRenderer))
}

func TestPDFGarbageIsAnError(t *testing.T) {
	for _, r := range renderers {
		t.Run(r.name, func(t *testing.T) {
			peertest.Program(t, r.name, "apt-get install "+r.pkg)
			err := RenderPDF(context.Background(), strings.NewReader("this is not a PDF"), &PDFConfig{Renderer: r.name, DPI: 50},
				func(int, image.Image) error { return nil })
			require.Error(t, err)
		})
	}
}

func TestPDFCallbackErrorStopsRendering(t *testing.T) {
	peertest.Program(t, "gs", "apt-get install ghostscript")
	stop := errors.New("stop")
	calls := 0
	err := RenderPDF(context.Background(), bytes.NewReader(minimalPDF("0 g 0 0 10 10 re f", "", "")), &PDFConfig{DPI: 50},
		func(int, image.Image) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}

func TestPDFTooManyPages(t *testing.T) {
	peertest.Program(t, "gs", "apt-get install ghostscript")
	calls := 0
	err := RenderPDF(context.Background(), bytes.NewReader(minimalPDF("", "", "")), &PDFConfig{DPI: 20, MaxPages: 2},
		func(int, image.Image) error { calls++; return nil })
	require.ErrorIs(t, err, ErrTooLarge)
	require.Equal(t, 2, calls)
}
