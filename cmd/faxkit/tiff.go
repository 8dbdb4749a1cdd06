package main

import (
	"bufio"
	"context"
	"encoding/json"
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

	"github.com/faxkit/faxkit/tiff"
)

var tiffCmd = &command{
	name:    "tiff",
	summary: "inspect and convert TIFF fax documents",
	usage: `usage: faxkit tiff <subcommand> [flags] [args]

  info [-json] FILE
        Print each page's size, coding, fill order, resolution and fax
        quality tags, and decode it to count damaged rows. Free-text tags
        (description, document name) are shown as present, never printed:
        they may name a patient. -json prints one JSON object instead:
          format ("TIFF"/"BigTIFF"), byte_order, bytes, and pages, each with
          number, width, height, bits_per_sample, samples_per_pixel,
          compression (TIFF's name), coding ("MH", "MR", "MMR" for fax
          pages), photometric, fill_order, resolution, dpi_x, dpi_y, strips,
          page_number and page_count (when tagged), bad_fax_lines,
          consecutive_bad_fax_lines, clean_fax_data (when damaged),
          free_text_tags (names only), decoded {rows, bad_rows,
          longest_bad_run} or decode_error.

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

// tiffInfo is "tiff info -json": one object for the file.
type tiffInfo struct {
	Format    string         `json:"format"`     // "TIFF" or "BigTIFF"
	ByteOrder string         `json:"byte_order"` // "little-endian" or "big-endian"
	Bytes     int64          `json:"bytes"`
	Pages     []tiffPageInfo `json:"pages"`
}

// tiffPageInfo is one page of tiffInfo.
type tiffPageInfo struct {
	Number          int     `json:"number"` // from 1, in file order
	Width           int     `json:"width"`
	Height          int     `json:"height"`
	BitsPerSample   int     `json:"bits_per_sample"`
	SamplesPerPixel int     `json:"samples_per_pixel"`
	Compression     string  `json:"compression"`      // TIFF Compression, e.g. "CCITT Group 3"
	Coding          string  `json:"coding,omitempty"` // fax coding: "MH", "MR" or "MMR"
	Photometric     string  `json:"photometric"`
	FillOrder       string  `json:"fill_order"`
	Resolution      string  `json:"resolution"` // fax resolution name, e.g. "fine"
	DPIX            float64 `json:"dpi_x"`
	DPIY            float64 `json:"dpi_y"`
	Strips          int     `json:"strips"`
	PageNumber      int     `json:"page_number,omitempty"` // PageNumber tag + 1; 0 when absent
	PageCount       int     `json:"page_count,omitempty"`
	BadFaxLines     int     `json:"bad_fax_lines"`
	BadFaxLinesRun  int     `json:"consecutive_bad_fax_lines"`
	CleanFaxData    string  `json:"clean_fax_data,omitempty"`
	// FreeTextTags names the free-text tags present; their text is
	// never shown (it may name a patient).
	FreeTextTags []string      `json:"free_text_tags"`
	Decoded      *decodedStats `json:"decoded,omitempty"`
	DecodeError  string        `json:"decode_error,omitempty"`
}

type decodedStats struct {
	Rows          int `json:"rows"`
	BadRows       int `json:"bad_rows"`
	LongestBadRun int `json:"longest_bad_run"`
}

func runTIFFInfo(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "tiff info")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return usagef("tiff info takes one FILE, %d given", fs.NArg())
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
	info := tiffInfo{Format: "TIFF", ByteOrder: "little-endian", Bytes: st.Size(), Pages: []tiffPageInfo{}}
	if r.ByteOrder().String() == "BigEndian" {
		info.ByteOrder = "big-endian"
	}
	if r.BigTIFF() {
		info.Format = "BigTIFF"
	}
	for p, err := range r.Pages() {
		if err != nil {
			return err
		}
		in := p.Info
		pi := tiffPageInfo{Number: len(info.Pages) + 1, Width: in.Width, Height: in.Height,
			BitsPerSample: int(in.BitsPerSample), SamplesPerPixel: int(in.SamplesPerPixel),
			Compression: in.Compression.String(), Photometric: photometric(in.Photometric),
			FillOrder: in.FillOrder.String(), Resolution: in.Resolution().String(), Strips: in.Strips,
			BadFaxLines: int(in.BadFaxLines), BadFaxLinesRun: int(in.ConsecutiveBadFaxLines), FreeTextTags: []string{}}
		pi.DPIX, pi.DPIY = in.DPI()
		switch in.Compression {
		case tiff.CompressionGroup3:
			pi.Coding = "MH"
			if in.T4Options&tiff.T4Option2D != 0 {
				pi.Coding = "MR"
			}
		case tiff.CompressionGroup4:
			pi.Coding = "MMR"
		}
		if in.HasPageNumber {
			pi.PageNumber = int(in.PageNumber) + 1
			pi.PageCount = int(in.PageCount)
		}
		if in.BadFaxLines > 0 || in.ConsecutiveBadFaxLines > 0 {
			pi.CleanFaxData = in.CleanFaxData.String()
		}
		for _, t := range []struct{ name, v string }{{"description", in.ImageDescription}, {"document name", in.DocumentName},
			{"host computer", in.HostComputer}} {
			if t.v != "" {
				pi.FreeTextTags = append(pi.FreeTextTags, t.name)
			}
		}
		if in.Bilevel() {
			if _, err := p.Bitmap(); err != nil {
				pi.DecodeError = err.Error()
			} else if in.Compression == tiff.CompressionGroup3 || in.Compression == tiff.CompressionGroup4 || in.Compression == tiff.CompressionCCITTRLE {
				s := p.Stats()
				pi.Decoded = &decodedStats{Rows: s.Rows, BadRows: s.BadRows, LongestBadRun: s.LongestBadRun}
			}
		}
		info.Pages = append(info.Pages, pi)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(info)
	}
	fmt.Fprintf(e.stdout, "%s, %s, %d bytes\n", info.Format, info.ByteOrder, info.Bytes)
	for _, pi := range info.Pages {
		fmt.Fprintf(e.stdout, "page %d: %dx%d, %d bit(s)/sample x %d, %s, %s, fill order %s, resolution %s (%.0fx%.0f dpi)",
			pi.Number, pi.Width, pi.Height, pi.BitsPerSample, pi.SamplesPerPixel, pi.Compression, pi.Photometric,
			pi.FillOrder, pi.Resolution, pi.DPIX, pi.DPIY)
		switch pi.Coding {
		case "MH":
			fmt.Fprint(e.stdout, ", 1-D (MH)")
		case "MR":
			fmt.Fprint(e.stdout, ", 2-D (MR)")
		}
		fmt.Fprintf(e.stdout, ", %d strip(s)", pi.Strips)
		switch {
		case pi.PageNumber > 0 && pi.PageCount > 0:
			fmt.Fprintf(e.stdout, ", page number %d of %d", pi.PageNumber, pi.PageCount)
		case pi.PageNumber > 0:
			fmt.Fprintf(e.stdout, ", page number %d", pi.PageNumber)
		}
		fmt.Fprintln(e.stdout)
		if pi.CleanFaxData != "" {
			fmt.Fprintf(e.stdout, "  fax tags: %d bad lines, longest run %d, %s\n", pi.BadFaxLines, pi.BadFaxLinesRun, pi.CleanFaxData)
		}
		if len(pi.FreeTextTags) > 0 {
			fmt.Fprintf(e.stdout, "  free-text tags present (not shown, may be PHI): %v\n", pi.FreeTextTags)
		}
		if pi.DecodeError != "" {
			fmt.Fprintf(e.stdout, "  decode error: %v\n", pi.DecodeError)
		}
		if d := pi.Decoded; d != nil {
			fmt.Fprintf(e.stdout, "  decoded: %d rows, %d bad, longest bad run %d\n", d.Rows, d.BadRows, d.LongestBadRun)
		}
	}
	fmt.Fprintf(e.stdout, "%d page(s)\n", len(info.Pages))
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
