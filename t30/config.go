package t30

import (
	"errors"
	"log/slog"
	"time"
)

// Config configures a Session. The zero value answers a call and receives
// with DefaultCapabilities.
type Config struct {
	// Calling is true for the terminal that placed the call (it sends CNG
	// and waits for DIS); false for the answering terminal (CED, then DIS).
	Calling bool
	// Transmit is true when this terminal sends Document. A calling
	// receiver polls (DTC) and an answering transmitter offers its document
	// for polling (DIS bit 9).
	Transmit bool
	// Document is the page source; required when Transmit.
	Document Document
	// Capabilities offered or accepted; nil means DefaultCapabilities().
	Capabilities *Capabilities
	// LocalIdent is sent in CSI/TSI/CIG (20 characters at most; PHI).
	LocalIdent string
	// NSF is optional vendor data sent as NSF/NSS/NSC (T.35 country code first).
	NSF []byte
	// OnPage receives each page a receiving session accepts; an error ends
	// the call with ResultDocumentError. Nil discards pages.
	OnPage func(ReceivedPage) error
	// CheckPage decodes received pages; nil uses DefaultPageChecker.
	CheckPage PageChecker
	// Quality is the MCF/RTP/RTN policy for non-ECM pages.
	Quality CopyQuality
	// OnRecord receives the event stream (phase changes, frames, pages, the result).
	OnRecord func(Record)
	// Logger gets the same stream at debug level, with PHI redacted; nil discards.
	Logger *slog.Logger

	// Timers (T.30 5.4.3.1); zero means the T.30 value: T1 35 s, T2 6 s,
	// T4 3 s (4.5 s for an answering terminal unless ManualAnswer), T5 60 s.
	T1, T2, T4, T5 time.Duration
	ManualAnswer   bool
	// MaxTries is how often a command is sent without a valid response
	// before giving up (default 3, T.30 5.4.3.1).
	MaxTries int
	// MaxDamagedTries is how often a command is repeated because its
	// response arrived damaged (bad FCS, or flags without a valid frame),
	// which shows a live line, not a dead one (default 3 × MaxTries).
	MaxDamagedTries int
	// MaxPageTries is how often a page answered RTN is retried (default 3).
	MaxPageTries int
	// MaxPageBytes caps received page data (default 32 MiB).
	MaxPageBytes int
	// TCFDuration is the training check length (default 1.5 s).
	TCFDuration time.Duration
	// TCFMinZeros is how much of an unbroken run of zero octets a received
	// TCF needs, as a duration at the commanded rate (default 1 s, i.e. two
	// thirds of a 1.5 s TCF). TCF with a shorter run is answered FTT.
	TCFMinZeros time.Duration
}

func (c *Config) fill() error {
	if c.Transmit && c.Document == nil {
		return errors.New("t30: Transmit needs a Document")
	}
	if c.Transmit && c.Document.NumPages() < 1 {
		return errors.New("t30: Document has no pages")
	}
	if c.T1 == 0 {
		c.T1 = 35 * time.Second
	}
	if c.T2 == 0 {
		c.T2 = 6 * time.Second
	}
	if c.T4 == 0 {
		c.T4 = 3 * time.Second
		if !c.Calling && !c.ManualAnswer {
			c.T4 = 4500 * time.Millisecond
		}
	}
	if c.T5 == 0 {
		c.T5 = 60 * time.Second
	}
	if c.MaxTries <= 0 {
		c.MaxTries = 3
	}
	if c.MaxDamagedTries <= 0 {
		c.MaxDamagedTries = 3 * c.MaxTries
	}
	if c.MaxPageTries <= 0 {
		c.MaxPageTries = 3
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = 32 << 20
	}
	if c.TCFDuration <= 0 {
		c.TCFDuration = TCFDuration
	}
	if c.TCFMinZeros <= 0 {
		c.TCFMinZeros = time.Second
	}
	if c.CheckPage == nil {
		c.CheckPage = DefaultPageChecker
	}
	return nil
}
