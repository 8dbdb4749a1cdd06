package tiff

import (
	"log/slog"
	"strconv"

	"github.com/faxkit/faxkit/t4"
)

// Tag numbers used by this package (TIFF 6.0 sections 8 and 11, TIFF Class F
// / RFC 2306 for the fax tags, and BigTIFF).
const (
	tagColorMap               = 320
	tagPredictor              = 317
	tagNewSubfileType         = 254
	tagImageWidth             = 256
	tagImageLength            = 257
	tagBitsPerSample          = 258
	tagCompression            = 259
	tagPhotometric            = 262
	tagFillOrder              = 266
	tagDocumentName           = 269
	tagImageDescription       = 270
	tagMake                   = 271
	tagModel                  = 272
	tagStripOffsets           = 273
	tagOrientation            = 274
	tagSamplesPerPixel        = 277
	tagRowsPerStrip           = 278
	tagStripByteCounts        = 279
	tagXResolution            = 282
	tagYResolution            = 283
	tagPlanarConfig           = 284
	tagT4Options              = 292
	tagT6Options              = 293
	tagResolutionUnit         = 296
	tagPageNumber             = 297
	tagSoftware               = 305
	tagDateTime               = 306
	tagHostComputer           = 316
	tagTileWidth              = 322
	tagTileLength             = 323
	tagTileOffsets            = 324
	tagTileByteCounts         = 325
	tagBadFaxLines            = 326
	tagCleanFaxData           = 327
	tagConsecutiveBadFaxLines = 328
	tagJPEGTables             = 347
)

// TIFF field types (TIFF 6.0 section 2, BigTIFF).
const (
	typeByte      = 1
	typeASCII     = 2
	typeShort     = 3
	typeLong      = 4
	typeRational  = 5
	typeSByte     = 6
	typeUndefined = 7
	typeSShort    = 8
	typeSLong     = 9
	typeSRational = 10
	typeFloat     = 11
	typeDouble    = 12
	typeIFD       = 13
	typeLong8     = 16
	typeSLong8    = 17
	typeIFD8      = 18
)

// typeSize is the size in bytes of one value of each field type; 0 marks an
// unknown type (TIFF 6.0 says readers skip those fields).
var typeSize = [...]int{
	typeByte: 1, typeASCII: 1, typeShort: 2, typeLong: 4, typeRational: 8,
	typeSByte: 1, typeUndefined: 1, typeSShort: 2, typeSLong: 4, typeSRational: 8,
	typeFloat: 4, typeDouble: 8, typeIFD: 4, 14: 0, 15: 0, typeLong8: 8, typeSLong8: 8, typeIFD8: 8,
}

// enumName returns v's name in names, or Kind(v) for a value without one.
func enumName[T ~uint16](names map[T]string, v T, kind string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

func sizeOfType(t uint16) int {
	if int(t) < len(typeSize) {
		return typeSize[t]
	}
	return 0
}

// Compression is the TIFF Compression tag (259).
type Compression uint16

// Compression schemes. Group3 is T.4 (1-D MH, or 2-D MR when T4Options bit 0
// is set); Group4 is T.6 MMR; CCITTRLE is MH without EOLs, each row starting
// on a byte boundary.
const (
	CompressionNone     Compression = 1
	CompressionCCITTRLE Compression = 2
	CompressionGroup3   Compression = 3
	CompressionGroup4   Compression = 4
	CompressionLZW      Compression = 5
	CompressionOldJPEG  Compression = 6
	CompressionJPEG     Compression = 7
	CompressionDeflate  Compression = 8
	CompressionPackBits Compression = 32773
	// CompressionAdobeDeflate is the old code for Deflate (zlib) data.
	CompressionAdobeDeflate Compression = 32946
)

var compressionNames = map[Compression]string{
	CompressionNone: "none", CompressionCCITTRLE: "CCITT RLE", CompressionGroup3: "CCITT Group 3",
	CompressionGroup4: "CCITT Group 4", CompressionLZW: "LZW", CompressionOldJPEG: "old JPEG",
	CompressionJPEG: "JPEG", CompressionDeflate: "Deflate", CompressionAdobeDeflate: "Deflate",
	CompressionPackBits: "PackBits",
}

func (c Compression) String() string { return enumName(compressionNames, c, "Compression") }

// T4Options bits (TIFF 6.0 section 11, tag 292).
const (
	T4Option2D           = 1 << 0 // MR (2-D) coding
	T4OptionUncompressed = 1 << 1 // uncompressed mode may occur (its codes read as corrupt rows)
	T4OptionFillBits     = 1 << 2 // fill bits make every EOL end on a byte boundary
)

// T6Options bits (tag 293).
const (
	T6OptionUncompressed = 1 << 1 // uncompressed mode may occur (its codes read as corrupt rows)
)

// Photometric is the PhotometricInterpretation tag (262).
type Photometric uint16

// Photometric interpretations.
const (
	// WhiteIsZero: a 0 sample is white. Fax pages are stored this way.
	WhiteIsZero Photometric = 0
	// BlackIsZero: a 0 sample is black.
	BlackIsZero Photometric = 1
	RGB         Photometric = 2
	Paletted    Photometric = 3
	Mask        Photometric = 4
	CMYK        Photometric = 5
	YCbCr       Photometric = 6
	CIELab      Photometric = 8
)

var photometricNames = map[Photometric]string{
	WhiteIsZero: "min-is-white", BlackIsZero: "min-is-black", RGB: "RGB", Paletted: "palette",
	Mask: "mask", CMYK: "CMYK", YCbCr: "YCbCr", CIELab: "CIE L*a*b*",
}

func (p Photometric) String() string { return enumName(photometricNames, p, "Photometric") }

// FillOrder is the FillOrder tag (266): the order of bits within a byte.
type FillOrder uint16

const (
	// MSBFirst (FillOrder 1, the TIFF default): the first pixel or code bit
	// is bit 7 of each byte.
	MSBFirst FillOrder = 1
	// LSBFirst (FillOrder 2): the first bit is bit 0, the order in which
	// bits go down a fax line. HylaFAX and spandsp store received faxes so.
	LSBFirst FillOrder = 2
)

var fillOrderNames = map[FillOrder]string{MSBFirst: "msb-to-lsb", LSBFirst: "lsb-to-msb"}

func (f FillOrder) String() string { return enumName(fillOrderNames, f, "FillOrder") }

// ResolutionUnit is the ResolutionUnit tag (296).
type ResolutionUnit uint16

const (
	UnitNone       ResolutionUnit = 1
	UnitInch       ResolutionUnit = 2
	UnitCentimeter ResolutionUnit = 3
)

var unitNames = map[ResolutionUnit]string{UnitNone: "none", UnitInch: "inch", UnitCentimeter: "centimeter"}

func (u ResolutionUnit) String() string { return enumName(unitNames, u, "ResolutionUnit") }

// CleanFaxData is the CleanFaxData tag (327): whether the page had coding
// errors when it was received.
type CleanFaxData uint16

const (
	// FaxClean: no errors, or the tag is absent.
	FaxClean CleanFaxData = 0
	// FaxRegenerated: bad rows were found and replaced (concealed).
	FaxRegenerated CleanFaxData = 1
	// FaxUnclean: bad rows remain in the data.
	FaxUnclean CleanFaxData = 2
)

var cleanNames = map[CleanFaxData]string{FaxClean: "clean", FaxRegenerated: "regenerated", FaxUnclean: "unclean"}

func (c CleanFaxData) String() string { return enumName(cleanNames, c, "CleanFaxData") }

// Resolution is a fax resolution; t4.Resolution is its home, where the
// densities each one stands for are kept.
type Resolution = t4.Resolution

// The fax resolutions (see t4.Resolution).
const (
	ResUnknown   = t4.ResUnknown
	ResStandard  = t4.ResStandard
	ResFine      = t4.ResFine
	ResSuperfine = t4.ResSuperfine
	ResR16       = t4.ResR16
	Res300       = t4.Res300
	Res300x600   = t4.Res300x600
	Res400       = t4.Res400
	Res400x800   = t4.Res400x800
	Res600       = t4.Res600
	Res600x1200  = t4.Res600x1200
	Res1200      = t4.Res1200
)

// PageInfo is what a page's IFD says about it. Reader fills it from the
// file; fields whose tag is absent hold the TIFF default (or zero).
type PageInfo struct {
	Width, Height   int // ImageWidth, ImageLength in pixels
	BitsPerSample   int // of the first sample; 1 for bilevel pages
	SamplesPerPixel int
	Compression     Compression
	T4Options       uint32 // T4Option* bits (Group 3 only)
	T6Options       uint32 // T6Option* bits (Group 4 only)
	Photometric     Photometric
	FillOrder       FillOrder
	// XResolution and YResolution are in ResolutionUnits; 0 when absent.
	XResolution, YResolution float64
	ResolutionUnit           ResolutionUnit
	RowsPerStrip             int // rows in each strip but the last
	Strips                   int // number of strips (or tiles)
	Tiled                    bool
	Orientation              int // 1 (top-left) when absent
	SubfileType              uint32
	// PageNumber is the zero-based page number and PageCount the number of
	// pages in the document (0 when unknown), from the PageNumber tag;
	// HasPageNumber tells whether the tag was present.
	PageNumber, PageCount int
	HasPageNumber         bool
	Software              string
	DateTime              string // "YYYY:MM:DD HH:MM:SS" as stored
	ImageDescription      string
	DocumentName          string
	Make, Model           string
	HostComputer          string
	// Fax tags (TIFF Class F): rows received with errors, whether they
	// were regenerated, and the longest run of consecutive bad rows.
	BadFaxLines            int
	CleanFaxData           CleanFaxData
	ConsecutiveBadFaxLines int
}

// DPI returns the page's resolution in dots per inch (centimetre units are
// converted; 0 when the file gives none).
func (pi *PageInfo) DPI() (x, y float64) {
	x, y = pi.XResolution, pi.YResolution
	if pi.ResolutionUnit == UnitCentimeter {
		x, y = x*2.54, y*2.54
	}
	return x, y
}

// Resolution returns the fax resolution nearest the page's, or ResUnknown.
//
// Fax software often gets the metric units wrong (spandsp's t4_tx notes
// it), so when the values in the stated unit match no fax resolution they
// are tried as the units fax files are seen to mean: pels per millimetre
// (8 x 3.85, 7.7 or 15.4, the T.4 figures) under the centimetre or inch
// unit, and dots per inch (204 x 98) under the centimetre unit or none.
// Densities under 20 per inch are no one's real resolution, and 204 pels
// per centimetre (518 dpi) is no scanner's.
func (pi *PageInfo) Resolution() Resolution {
	x, y := pi.XResolution, pi.YResolution
	var tries []float64 // factors to dots per inch, the stated unit's first
	switch pi.ResolutionUnit {
	case UnitInch:
		tries = []float64{1, 25.4}
	case UnitCentimeter:
		tries = []float64{2.54, 25.4, 1}
	case UnitNone:
		tries = []float64{1, 25.4}
	}
	for _, f := range tries {
		if r := t4.ResolutionFromDPI(x*f, y*f); r != ResUnknown {
			return r
		}
	}
	return ResUnknown
}

// Bilevel reports whether the page has one 1-bit sample per pixel with a
// bilevel photometric interpretation, i.e. is a fax page.
func (pi *PageInfo) Bilevel() bool {
	return pi.BitsPerSample == 1 && pi.SamplesPerPixel == 1 &&
		(pi.Photometric == WhiteIsZero || pi.Photometric == BlackIsZero)
}

// LogValue implements slog.LogValuer. The free-text tags (ImageDescription,
// DocumentName, HostComputer) may name a patient or a sender, so they are
// logged only as present or absent; the page's geometry, coding and fax
// quality are logged in full.
func (pi PageInfo) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Int("width", pi.Width), slog.Int("height", pi.Height),
		slog.String("compression", pi.Compression.String()),
		slog.String("photometric", pi.Photometric.String()),
		slog.String("fill_order", pi.FillOrder.String()),
		slog.String("resolution", pi.Resolution().String()),
		slog.Int("page", pi.PageNumber), slog.Int("pages", pi.PageCount),
		slog.Int("bad_fax_lines", pi.BadFaxLines),
		slog.String("clean_fax_data", pi.CleanFaxData.String()),
	}
	for _, f := range []struct{ k, v string }{
		{"image_description", pi.ImageDescription}, {"document_name", pi.DocumentName}, {"host_computer", pi.HostComputer},
	} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, "[redacted]"))
		}
	}
	return slog.GroupValue(attrs...)
}
