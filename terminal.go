package faxkit

import (
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t38"
	"github.com/faxkit/faxkit/transport"
)

// modem is the physical layer a call runs over: a T.38 terminal.
type modem interface {
	t30.Modem
	Close() error
	Stats() t38.TerminalStats
}

// newModem makes the call's modem; tests may replace it.
var newModem = func(ep transport.Endpoint, o *resolved, calling bool) (modem, error) {
	cfg := t38.TerminalConfig{
		Version:     t38.Version(o.T38Version),
		EC:          o.ErrorCorrection.t38(),
		MaxDatagram: o.MaxDatagram,
		Pacing:      t38.PacingRealTime,
		Clock:       o.Clock,
		Logger:      o.logger,
	}
	switch o.ErrorCorrection {
	case Redundancy:
		cfg.Depth = o.ECDepth
	case FEC:
		cfg.FECEntries = o.ECDepth
		cfg.FECSpan = t38.DefaultFECSpan
		for cfg.FECSpan*cfg.FECEntries > t38.MaxFECReach && cfg.FECSpan > 1 {
			cfg.FECSpan--
		}
	}
	if o.RTP {
		cfg.Encapsulation = t38.EncapIFP
	}
	if o.Pacing == Unpaced {
		cfg.Pacing = t38.PacingNone
	}
	return t38.NewTerminal(ep, cfg)
}
