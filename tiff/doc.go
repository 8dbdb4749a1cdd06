// Package tiff reads and writes fax documents as TIFF Class F files and
// turns ordinary images and PDFs into fax pages.
//
// # Standards
//
//   - TIFF 6.0 (Adobe, 1992): file structure and IFDs (section 2), bilevel
//     images (section 3), PackBits (section 9), CCITT compressions 2, 3 and
//     4 with T4Options and T6Options (section 11), FillOrder, resolution
//     and PageNumber tags.
//   - TIFF Class F, RFC 2306 ("Tag Image File Format (TIFF) - F Profile for
//     Facsimile"): NewSubfileType page bit, min-is-white, the fax tags
//     BadFaxLines (326), CleanFaxData (327), ConsecutiveBadFaxLines (328).
//   - BigTIFF (64-bit offsets, version 43): read.
//   - TIFF Technical Note 2: JPEG compression 7 (read, for scanned pages).
//   - ITU-T T.4 clause 2 and T.30 Table 2: fax page widths and resolutions
//     (Resolution, Paper.Pels; t4 keeps their figures). The page data itself is coded by
//     package t4 (T.4 MH and MR, T.6 MMR).
//
// # Reading
//
// A Reader walks the IFD chain of an io.ReaderAt one page at a time; a
// Page holds its tags (Page.Info) and strip table, and its pixels are read
// only by Page.Bitmap or Page.Image, so a 200-page document is never in
// memory at once:
//
//	f, _ := os.Open("fax.tif")
//	st, _ := f.Stat()
//	r, err := tiff.NewReader(f, st.Size(), nil)
//	for page, err := range r.Pages() {
//		if err != nil { ... }
//		bm, err := page.Bitmap() // *t4.Bitmap, 1 = black
//		res := page.Info.Resolution() // tiff.ResFine, ...
//	}
//
// Bilevel pages are decoded by this package (none, PackBits) and package t4
// (CCITT RLE, Group 3 1-D and 2-D, Group 4; FillOrder 1 and 2; min-is-white
// and min-is-black; one strip or many, or tiles). 1-, 2- and 4-bit grey and
// palette pages (and those of BigTIFF files) are decoded by this package
// too. Other grey,
// palette and colour pages (LZW, Deflate, PackBits, none) are decoded by
// golang.org/x/image/tiff, which
// reads only the first IFD of a file: it is shown a view of the file whose
// header points at the page's IFD, and whose strip bytes are bit-reversed
// for FillOrder 2 (libtiff applies FillOrder to all data). JPEG pages are
// decoded strip by strip with image/jpeg, each strip prefixed with the
// JPEGTables. Page.Bitmap thresholds such pages; ToFax scales and dithers
// them.
//
// Real fax files bend the format; the reader takes them at least as
// leniently as libtiff, and further where the data leaves no doubt (each
// case is in quirks_test.go with what libtiff does):
//
//   - missing PhotometricInterpretation (min-is-white for CCITT data),
//     RowsPerStrip, T4Options or FillOrder take their defaults;
//   - a StripByteCounts missing, short or 0 is taken to run to the next
//     strip or the end of the file (libtiff: one strip only);
//   - one strip is the whole page whatever RowsPerStrip says;
//   - a one-strip CCITT page without ImageLength (or with 0) is as tall as
//     the rows its data codes, counted by Next;
//   - a CCITT page that decodes with bad rows is also read with FillOrder
//     and (Group 3) the 2-D flag flipped, and the reading with the fewest
//     bad rows kept: files that misstate them read clean, damaged ones as
//     their tags say;
//   - rows the data lacks (a fax cut short) are white and counted bad;
//   - Resolution maps the metric mix-ups of fax software (8 x 3.85 or 7.7
//     under the centimetre unit, 204 x 98 or 196 under centimetre or none).
//
// NewStreamReader reads from a plain io.Reader instead (a decrypting stream
// from storage, a network body): files laid out front to back, as Writer,
// libtiff and spandsp write them, stream with about one page buffered.
//
// Hostile files fail with errors that match ErrCorrupt, ErrUnsupported or
// ErrTooLarge (errors.Is), carried by a *FormatError that gives the page and
// file offset. Limits (ReaderConfig.Limits, each with a documented default)
// bound the pages followed, IFD entries, page width, height and pixels, the
// memory of a decoded non-bilevel page, strips and tag value sizes; an IFD
// pointing back to one already read ends the file (libtiff warns and
// stops: every page has been read); strips and tag values are read only
// inside the file; CCITT decoding stops at the page's height, so a small
// strip cannot expand beyond the (limited) page. A CCITT page whose data is damaged is decoded
// like a fax receiver would, with bad rows concealed (the row above
// repeated); rows missing from data cut short are left white; both are
// counted in Page.Stats, unless ReaderConfig.Strict asks for an error.
//
// # Writing
//
// A Writer writes pages to an io.Writer without seeking. The file header
// and every IFD hold the offset of the next IFD, which depends on the size
// of data not yet written; the Writer keeps one page of lookahead instead.
// Each page's coded data is buffered until the page is complete (a fax page
// codes to tens of kilobytes), then the previous page's IFD is written with
// its next-IFD offset pointing just past the new data, then the data. The
// header goes out with the first page; Writer.Close writes the last IFD with
// a next offset of 0. The file reads header, data1, IFD1, data2, IFD2, ...,
// and memory holds one coded page and one IFD.
//
// Defaults follow what fax software writes and expects (spandsp's t4_rx and
// HylaFAX): Group 3 1-D (MH), FillOrder 2 (LSB first, the bit order of the
// fax line), min-is-white, resolution in inches (204 x 98/196/391: spandsp
// notes that much software gets metric fax resolutions wrong), one strip
// per page, NewSubfileType = page, PageNumber, Software, and DateTime and
// the Class F fax tags when given. MR, MMR, CCITT RLE, PackBits and none are
// available through WriterConfig, as are FillOrder 1 and big-endian files.
// Files written are checked with libtiff (tiffinfo -D, tiffcp, and a C
// harness decoding every page) and ImageMagick.
//
// # Converting
//
// ToFax renders any image.Image (PNG, JPEG, GIF from the standard
// decoders, or a TIFF page) as fax pages: fitted to the width and
// resolution keeping the aspect ratio, on A4, Letter, Legal or B4 pages or
// one continuous page, thresholded (text) or dithered (photographs, via
// t4.FromGray), optionally turned a quarter turn when landscape.
// ConvertDocument converts a whole TIFF, copying pages that already are
// fax pages. PDFToFax and RenderPDF render PDFs with Ghostscript or
// pdftoppm, found at run time; ErrNoRenderer names the missing programs.
//
// # Limitations
//
//   - Written files are classic TIFF (4 GiB at most); BigTIFF is read only,
//     and of its non-fax pages only 1-, 2-, 4- and 8-bit grey and palette
//     ones in strips are decoded (by this package; x/image/tiff reads
//     classic TIFF only).
//   - Not read: T.4/T.6 uncompressed mode (pages whose T4Options or
//     T6Options allow it are read; rows that use it come out as corrupt
//     rows), old-style JPEG (compression 6), tiled or planar JPEG pages, tiled
//     pages of BigTIFF files other than fax pages, bit depths other than
//     1, 2, 4, 8 and 16 for non-bilevel pages
//     (2 and 4 only for one grey or palette sample), CMYK,
//     CIE Lab and YCbCr pages without JPEG compression.
//   - Multi-strip CCITT pages are read; written pages have one strip.
//   - Orientation is reported, not applied.
//   - PDF rendering runs a large external program on the input; sandbox it
//     for untrusted documents.
package tiff
