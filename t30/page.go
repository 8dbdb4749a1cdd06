package t30

// PageQuality is what the receiver learned decoding a page (t4.Stats).
type PageQuality struct {
	Rows          int // rows delivered
	BadRows       int // rows that were corrupt and concealed, including rows lost whole
	LongestBadRun int // longest run of consecutive bad rows
	// Truncated is set when the data ended without RTC (MH/MR) or EOFB
	// (MMR): the end of the page was lost, so an unknown number of rows
	// is missing.
	Truncated bool
	// EndLost is set instead of Truncated when the data ended without
	// RTC or EOFB but the sender's post-page command came within
	// PageEndGap of the last page data, as it follows a page that ran to
	// its end: what was lost is the page's end marker and at most about
	// half a second before it (a packet lost, a burst of noise), not
	// rows lost whole. RowsUncertain is set with it.
	EndLost bool
	// RowsUncertain is set when non-ECM page data was lost on the way
	// and the number of rows it held is not known (Event.Uncertain):
	// the rows marked bad in its place are a guess, and the page may be
	// longer or shorter than it was sent, the rows after the loss out of
	// place.
	RowsUncertain bool
}

// Document is the page source of a transmitting session.
type Document interface {
	// NumPages returns the number of pages (at least 1).
	NumPages() int
	// Format returns the resolution, width and length of page i (0-based).
	Format(i int) PageFormat
	// Encode returns page i coded for mode m: m.Compression, at least
	// m.MinRowBits() bits per row (fill before each EOL), LSB-first line
	// bit order, ending with RTC (MH/MR) or EOFB (MMR).
	Encode(i int, m Mode) ([]byte, error)
}

// ReceivedPage is a page a receiving session accepted.
type ReceivedPage struct {
	Number   int    // 1-based
	Mode     Mode   // how it was sent
	Data     []byte // coded page data in line (LSB-first) bit order; owned by the callee
	Quality  PageQuality
	Response FCF  // MCF or RTP (ECM: MCF or ERR)
	Partial  bool // ECM: some frames were abandoned (EOR) and are missing from Data
}

// PageChecker decodes received page data and reports its quality. The
// default decodes with package t4.
type PageChecker func(data []byte, m Mode) (PageQuality, error)

// CopyQuality is the receiver's policy for answering a non-ECM page
// (T.30 5.3.6.1.8 leaves it to the implementation). A page is answered
//
//	MCF if BadRows <= GoodPercent% of Rows and LongestBadRun <= GoodRun,
//	RTP if BadRows <= PoorPercent% of Rows and LongestBadRun <= PoorRun,
//	RTN otherwise, and always when no row could be decoded or the page
//	    was truncated (no RTC/EOFB: the rows lost whole cannot be counted).
//
// A page whose end marker alone was lost (EndLost) is answered RTP at best:
// it is kept, and the sender is told the copy was poor.
//
// The zero value means GoodPercent 5, GoodRun 10, PoorPercent 15, PoorRun 30
// (rows are 0.13 mm at fine resolution: 10 rows is 1.3 mm, about one text
// line's stroke width; 30 rows loses a text line).
type CopyQuality struct {
	GoodPercent, GoodRun int
	PoorPercent, PoorRun int
}

func (c CopyQuality) withDefaults() CopyQuality {
	if c == (CopyQuality{}) {
		return CopyQuality{GoodPercent: 5, GoodRun: 10, PoorPercent: 15, PoorRun: 30}
	}
	return c
}

// Judge returns MCF, RTP or RTN for q.
func (c CopyQuality) Judge(q PageQuality) FCF {
	c = c.withDefaults()
	if q.Rows <= 0 || q.Truncated {
		return FCFRTN
	}
	if q.BadRows*100 <= c.GoodPercent*q.Rows && q.LongestBadRun <= c.GoodRun && !q.EndLost {
		return FCFMCF
	}
	if q.BadRows*100 <= c.PoorPercent*q.Rows && q.LongestBadRun <= c.PoorRun {
		return FCFRTP
	}
	return FCFRTN
}
