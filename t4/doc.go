// Package t4 implements the bilevel image codings of Group 3 and Group 4
// facsimile, the packed page type they work on, and the page geometry of
// T.4 clause 2 that the rest of faxkit shares.
//
// # Codings
//
//   - MH, ITU-T T.4 clause 4.1: one-dimensional run-length coding with the
//     Modified Huffman code tables (T.4 Tables 2 and 3), EOL framing (4.1.2),
//     fill bits for the minimum scan line time (4.1.3) and RTC (4.1.4).
//   - MR, T.4 clause 4.2: two-dimensional Modified READ coding with any K
//     parameter (one 1-D row, then K-1 2-D rows; T.30 uses K=2 at standard
//     and K=4 at fine resolution), EOL+tag framing (4.2.2) and RTC (4.2.4).
//   - MMR, T.6 clause 2: the 2-D coding without EOLs, ended by EOFB.
//   - TIFF Compression 2 ("CCITT RLE"): MH rows without EOLs, each starting
//     on an octet boundary (EncodeOptions.NoEOL).
//
// Both bit orders within an octet (MSBFirst as in TIFF FillOrder 1; LSBFirst
// as on the fax line, in T.30 image data and in TIFF FillOrder 2), EOLs
// aligned to end on an octet boundary (TIFF T4Options bit 2) and pages
// without RTC/EOFB (TIFF strips) are supported in both directions.
//
// # Page geometry
//
// Resolution (T.4 clause 2.3: standard, fine, superfine, R16, 300, 400, 600
// and 1200 pels per 25.4 mm), LineWidth (clause 2.2: the A4, B4 and A3 scan
// lines, whose length in pels LineWidth.Pels gives at each resolution) and
// Paper (A4, Letter, Legal, B4, A3 and continuous lengths) are defined here
// once, with their figures in fixed tables. t30 codes them in DIS/DCS bits,
// tiff stores and converts pages by them; both name them by type aliases.
//
// # Usage
//
// Whole pages:
//
//	data, err := t4.AppendPage(nil, page, &t4.EncodeOptions{Compression: t4.MR, K: 4, BitOrder: t4.LSBFirst})
//	page, stats, err := t4.DecodePage(r, 1728, &t4.DecodeOptions{Compression: t4.MR, BitOrder: t4.LSBFirst})
//
// Row streaming: NewEncoder, Encoder.WriteRow for each row, Encoder.Close;
// NewDecoder and Decoder.ReadRow until io.EOF, then Decoder.Stats. Encoders
// and Decoders can be reused with Reset; after setup they do not allocate.
//
// # Damage
//
// Decoders conceal damage as fax receivers must (see Decoder): in MH and MR a
// corrupt row is replaced by the previous good row and decoding resumes at
// the next EOL; in MMR a corrupt code conceals the rest of the page. Stats
// counts delivered rows, bad rows and the longest run of bad rows, from
// which T.30 chooses MCF, RTP or RTN. DecodeOptions.Strict turns concealment
// off and reports the first corruption as a *DecodeError.
//
// # Implementation
//
// Rows are handled as lists of changing elements (T.4 4.2.1.3.1). The
// encoder finds them 64 pixels at a time with math/bits and codes each run
// with one table lookup (make-up and terminating codes combined); the
// decoder reads codes through a 64-bit bit buffer and lookup tables indexed
// by the next 12 or 13 bits (runs) or 7 bits (modes; two vertical mode
// codes at once from 12 bits), and fills rows 64 pixels at a time from the
// changing elements. The tables are generated from the code strings of the
// Recommendations by gen.go.
//
// Rows that repeat the row above (ruled lines, black bars, the rows of a
// glyph at fine resolution) or the row two above (line screens, hatching)
// take shortcuts in both directions: the encoder codes them from the
// previous row's changing elements, or copies the bits it wrote for the
// earlier row when they would be the same; the decoder recognises such a
// row from its bits and copies the earlier row. A row that repeats a row
// up to eight above, with the row above it repeating too (an ECG strip's
// dotted grid), takes the same shortcut in MR and MMR decoding (ReadPage,
// and ReadRow, which then keeps copies of the rows it decodes: 16 rows of
// pixels) and in MMR encoding (AppendPage, EncodePage). The tests and
// fuzz targets hold every shortcut to the general path, damaged data
// included.
//
// # Limits
//
// Widths are 1..MaxWidth pixels. A Decoder delivers at most MaxRows rows
// (DefaultMaxRows when zero) and DecodePage builds at most MaxPageBytes of
// pixels; a Decoder's memory is a few row buffers (sixteen more once a 2-D
// page read with ReadRow repeats rows further up) plus a 16 KiB input
// buffer, whatever the input. Malformed input never panics and never loops: every
// code consumes bits and the decoder stops at the end of the data.
//
// A Decoder reads ahead (up to 16 KiB) and may block in Read while it
// looks for the end of a page: on a live stream, close the writing side at
// the end of the page (or use Rows) so that the last rows come out.
//
// Not implemented: T.4 uncompressed mode (the 2-D extension code is treated
// as corrupt data), T.4 Annex B/C error-limiting and JBIG/JPEG coding, and
// the T.6 "EOL" variant used by some Group 4 devices. MR and MMR rows are
// never decoded without a reference: after a bad MR row, 2-D rows are
// concealed until the next 1-D row.
package t4
