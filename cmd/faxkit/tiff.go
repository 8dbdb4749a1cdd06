package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // input formats for tiff convert and send
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/tiff"
)

var tiffCmd = &command{
	name:    "tiff",
	summary: "inspect and convert TIFF fax documents",
	usage: `usage: faxkit tiff <subcommand> [flags] [args]

  info FILE
        Print each page's size, coding, fill order, resolution and fax
        quality tags, and decode it to count damaged rows. Free-text tags
        (description, document name) are shown as present, never printed:
        they may name a patient.

  convert [-compression mh|mr|mmr] [-fill-order lsb|msb]
          [-resolution standard|fine|superfine] IN OUT
        Write IN as a TIFF Class F fax document. IN may be any TIFF
        (fax pages are copied pixel for pixel, other pages scaled and
        thresholded), PNG, JPEG, GIF, BMP, WebP, or PDF (rendered with
        Ghostscript or pdftoppm, which must be installed). Default MH,
        LSB first (fill order 2, what fax software expects), fine.
`,
	run: func(ctx context.Context, e *env, args []string) error {
		return dispatch(ctx, e, args, []subcommand{
			{"info", runTIFFInfo},
			{"convert", runTIFFConvert},
		})
	},
}

type fileKind int

const (
	kindImage fileKind = iota
	kindTIFF
	kindPDF
)

// sniff tells a TIFF, a PDF and other images apart by their first octets,
// and rewinds f.
func sniff(f io.ReadSeeker) (fileKind, error) {
	var b [4]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	s := string(b[:n])
	switch {
	case s == "II*\x00" || s == "MM\x00*" || s == "II+\x00" || s == "MM\x00+":
		return kindTIFF, nil
	case s == "%PDF":
		return kindPDF, nil
	}
	return kindImage, nil
}

func newTIFFReader(r io.ReaderAt, size int64) (*tiff.Reader, error) {
	return tiff.NewReader(r, size, nil)
}

type convertSettings struct {
	res tiff.Resolution
}

func (c convertSettings) config() *tiff.ConvertConfig {
	res := c.res
	if res == tiff.ResUnknown {
		res = tiff.ResFine
	}
	return &tiff.ConvertConfig{Resolution: res, AutoRotate: true}
}

// loadPages converts a non-TIFF file (an image or a PDF) to fax pages.
func loadPages(ctx context.Context, r io.Reader, kind fileKind, cs convertSettings) (faxkit.Document, error) {
	conv := cs.config()
	if kind == kindPDF {
		var buf bytes.Buffer
		w, err := tiff.NewWriter(&buf, nil)
		if err != nil {
			return nil, err
		}
		if _, err := tiff.PDFToFax(ctx, w, r, nil, conv); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		tr, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
		if err != nil {
			return nil, err
		}
		return faxkit.TIFF(tr)
	}
	img, _, err := image.Decode(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("not a TIFF, PDF or readable image: %w", err)
	}
	pages, err := tiff.ToFax(img, conv)
	if err != nil {
		return nil, err
	}
	res := t30.ResFine
	switch conv.Resolution {
	case tiff.ResStandard:
		res = t30.ResStandard
	case tiff.ResSuperfine:
		res = t30.ResSuperfine
	}
	return &t30.BitmapDocument{Pages: pages, Resolution: res}, nil
}

func runTIFFInfo(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "tiff info")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want one FILE", errUsage)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	r, err := newTIFFReader(f, st.Size())
	if err != nil {
		return err
	}
	order := "little-endian"
	if r.ByteOrder().String() == "BigEndian" {
		order = "big-endian"
	}
	kind := "TIFF"
	if r.BigTIFF() {
		kind = "BigTIFF"
	}
	fmt.Fprintf(e.stdout, "%s, %s, %d bytes\n", kind, order, st.Size())
	n := 0
	for p, err := range r.Pages() {
		if err != nil {
			return err
		}
		n++
		in := p.Info
		xd, yd := in.DPI()
		fmt.Fprintf(e.stdout, "page %d: %dx%d, %d bit(s)/sample x %d, %s, %s, fill order %s, resolution %s (%.0fx%.0f dpi)",
			n, in.Width, in.Height, in.BitsPerSample, in.SamplesPerPixel, in.Compression, photometric(in.Photometric),
			in.FillOrder, in.Resolution(), xd, yd)
		if in.Compression == tiff.CompressionGroup3 {
			if in.T4Options&tiff.T4Option2D != 0 {
				fmt.Fprint(e.stdout, ", 2-D (MR)")
			} else {
				fmt.Fprint(e.stdout, ", 1-D (MH)")
			}
		}
		fmt.Fprintf(e.stdout, ", %d strip(s)", in.Strips)
		switch {
		case in.HasPageNumber && in.PageCount > 0:
			fmt.Fprintf(e.stdout, ", page number %d of %d", in.PageNumber+1, in.PageCount)
		case in.HasPageNumber:
			fmt.Fprintf(e.stdout, ", page number %d", in.PageNumber+1)
		}
		fmt.Fprintln(e.stdout)
		if in.BadFaxLines > 0 || in.ConsecutiveBadFaxLines > 0 {
			fmt.Fprintf(e.stdout, "  fax tags: %d bad lines, longest run %d, %s\n", in.BadFaxLines, in.ConsecutiveBadFaxLines, in.CleanFaxData)
		}
		var present []string
		for _, t := range []struct{ name, v string }{{"description", in.ImageDescription}, {"document name", in.DocumentName},
			{"host computer", in.HostComputer}} {
			if t.v != "" {
				present = append(present, t.name)
			}
		}
		if len(present) > 0 {
			fmt.Fprintf(e.stdout, "  free-text tags present (not shown, may be PHI): %v\n", present)
		}
		if in.Bilevel() {
			if _, err := p.Bitmap(); err != nil {
				fmt.Fprintf(e.stdout, "  decode error: %v\n", err)
				continue
			}
			s := p.Stats()
			if in.Compression == tiff.CompressionGroup3 || in.Compression == tiff.CompressionGroup4 || in.Compression == tiff.CompressionCCITTRLE {
				fmt.Fprintf(e.stdout, "  decoded: %d rows, %d bad, longest bad run %d\n", s.Rows, s.BadRows, s.LongestBadRun)
			}
		}
	}
	fmt.Fprintf(e.stdout, "%d page(s)\n", n)
	return nil
}

func photometric(p tiff.Photometric) string {
	switch p {
	case tiff.WhiteIsZero:
		return "min-is-white"
	case tiff.BlackIsZero:
		return "min-is-black"
	}
	return fmt.Sprintf("photometric %d", p)
}

func parseResolution(s string) (tiff.Resolution, error) {
	switch s {
	case "standard":
		return tiff.ResStandard, nil
	case "fine":
		return tiff.ResFine, nil
	case "superfine":
		return tiff.ResSuperfine, nil
	}
	return 0, fmt.Errorf("%w: resolution %q (want standard, fine or superfine)", errUsage, s)
}

func runTIFFConvert(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tiff convert")
	fs.Usage = func() {}
	comp := fs.String("compression", "mh", "mh, mr or mmr")
	fill := fs.String("fill-order", "lsb", "lsb or msb")
	resName := fs.String("resolution", "fine", "standard, fine or superfine (for pages that need scaling)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want IN and OUT", errUsage)
	}
	wc := &tiff.WriterConfig{}
	switch *comp {
	case "mh":
		wc.Compression = tiff.CompressionGroup3
	case "mr":
		wc.Compression, wc.TwoD = tiff.CompressionGroup3, true
	case "mmr":
		wc.Compression = tiff.CompressionGroup4
	default:
		return fmt.Errorf("%w: -compression %q (want mh, mr or mmr)", errUsage, *comp)
	}
	switch *fill {
	case "lsb":
		wc.FillOrder = tiff.LSBFirst
	case "msb":
		wc.FillOrder = tiff.MSBFirst
	default:
		return fmt.Errorf("%w: -fill-order %q (want lsb or msb)", errUsage, *fill)
	}
	res, err := parseResolution(*resName)
	if err != nil {
		return err
	}
	cs := convertSettings{res: res}
	in, out := fs.Arg(0), fs.Arg(1)
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	kind, err := sniff(f)
	if err != nil {
		return err
	}

	// Write next to OUT and rename, so a failed conversion leaves no
	// half-written file behind.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".faxkit-convert-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	w, err := tiff.NewWriter(bw, wc)
	if err != nil {
		tmp.Close()
		return err
	}
	n, err := convertInto(ctx, w, f, kind, cs)
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %d page(s) to %s\n", n, out)
	return nil
}

func convertInto(ctx context.Context, w *tiff.Writer, f *os.File, kind fileKind, cs convertSettings) (int, error) {
	switch kind {
	case kindTIFF:
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		r, err := newTIFFReader(f, st.Size())
		if err != nil {
			return 0, err
		}
		return tiff.ConvertDocument(w, r, cs.config())
	case kindPDF:
		return tiff.PDFToFax(ctx, w, f, nil, cs.config())
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return 0, fmt.Errorf("not a TIFF, PDF or readable image: %w", err)
	}
	pages, err := tiff.ToFax(img, cs.config())
	if err != nil {
		return 0, err
	}
	for _, p := range pages {
		if err := w.WritePage(p, &tiff.PageOptions{Resolution: cs.config().Resolution}); err != nil {
			return 0, err
		}
	}
	return len(pages), nil
}
