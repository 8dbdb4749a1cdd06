package t30

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{"FF 13 80 00 EE FA C4 80 17", "FF 13 83 00 62 F8 44", "FF 13 BF 2F 00 00 92",
		"FF 13 13 00 28", "FF 13 CF 2F", "FF 03 06 05 01 02 03", "FF 03 86", "FF 13 FB",
		"FF 03 43 30 30 31 30 20 35 35 35 20 31 2B 20 20 20 20 20 20 20 20 20",
		"FF 13 80 04 EE F8 C4 80 91 80 80 80 18", "FF 13 BD" + " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"} {
		f.Add(unhex(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			return
		}
		out, err := fr.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encoded % X as % X (%v)", b, out, err)
		}
		_ = fr.String()
		switch fr.FCF {
		case FCFDIS, FCFDTC:
			d, err := ParseDIS(fr)
			if err != nil {
				t.Fatalf("valid DIS frame, bad FIF: %v", err)
			}
			fif, _ := d.MarshalBinary()
			var d2 DIS
			if err := d2.UnmarshalBinary(fif); err != nil || !reflect.DeepEqual(d, d2) {
				t.Fatalf("DIS not stable: %v\n%+v\n%+v", err, d, d2)
			}
		case FCFDCS:
			c, err := ParseDCS(fr)
			if err != nil {
				return
			}
			fif, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var c2 DCS
			if err := c2.UnmarshalBinary(fif); err != nil || !reflect.DeepEqual(c, c2) {
				t.Fatalf("DCS not stable: %v", err)
			}
		case FCFPPS:
			if p, err := ParsePPS(fr); err == nil {
				again := p.Frame(fr.X)
				if p2, _ := ParsePPS(again); p2 != p {
					t.Fatalf("PPS %+v -> %+v", p, p2)
				}
			}
		case FCFPPR:
			_, _ = ParsePPR(fr)
		case FCFCTC:
			_, _ = ParseCTC(fr)
		case FCFEOR:
			_, _ = ParseEOR(fr)
		case FCFCSI, FCFTSI, FCFCIG:
			_, _ = DecodeIdent(fr.Info)
		case FCFNSF, FCFNSS:
			_ = NSF(fr.Info).Vendor()
		}
	})
}

// FuzzSession feeds a session an arbitrary sequence of events and checks
// that it never panics and, once the input is exhausted and only its own
// timers and the modem's send completions remain, always ends with a result.
func FuzzSession(f *testing.F) {
	// seeds: a receiver fed a DCS, TCF, a page, MPS/EOP; a transmitter fed DIS, CFR, MCF
	dcs, _ := DCS{Speed: V17_14400, Receive: true, ScanTime: 0}.Frame()
	dcsb, _ := dcs.MarshalBinary()
	dis, _ := DefaultCapabilities().DIS().Frame(false).MarshalBinary()
	frame := func(b []byte) []byte { return append([]byte{0, byte(len(b))}, b...) }
	rx := []byte{0}
	rx = append(rx, 8)
	rx = append(rx, frame(dcsb)...)
	rx = append(rx, 5, 7, 200)
	rx = append(rx, make([]byte, 200)...)
	rx = append(rx, 6, 8)
	rx = append(rx, frame(unhex("FF 13 2F"))...)
	f.Add(rx)
	tx := []byte{3, 8}
	tx = append(tx, frame(dis)...)
	tx = append(tx, 8, 8)
	tx = append(tx, frame(unhex("FF 13 84"))...)
	tx = append(tx, 8)
	tx = append(tx, frame(unhex("FF 13 8C"))...)
	f.Add(tx)
	f.Add([]byte{5, 9, 9, 9, 4, 10})
	f.Add([]byte{7, 8, 0, 3, 0xFF, 0x13, 0xFA})
	f.Fuzz(runFuzzSession)
}

func runFuzzSession(t *testing.T, in []byte) {
	start := time.Now()
	defer func() {
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("slow input: %v", el)
		}
	}()
	{
		if len(in) == 0 {
			return
		}
		cfg := Config{Calling: in[0]&1 != 0, Transmit: in[0]&2 != 0}
		if in[0]&4 != 0 {
			c := DefaultCapabilities()
			c.ECM = false
			cfg.Capabilities = &c
		}
		if cfg.Transmit {
			cfg.Document = fuzzDoc{}
		}
		s, err := NewSession(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		sends := 0
		count := func(acts []Action) {
			for _, a := range acts {
				switch a.Kind {
				case ActionSendFrames, ActionSendTCF, ActionSendImage, ActionSendTone:
					sends++
				}
			}
		}
		count(s.Start(now))
		in = in[1:]
		next := func() int {
			if len(in) == 0 {
				return -1
			}
			b := in[0]
			in = in[1:]
			return int(b)
		}
		take := func(n int) []byte {
			n = min(n, len(in))
			b := in[:n]
			in = in[n:]
			return b
		}
		for len(in) > 0 && !s.Done() {
			op := next()
			var ev Event
			switch op % 12 {
			case 0: // a well-formed-looking frame
				n := next()
				ev = Event{Kind: EventFrame, Data: take(max(n, 0))}
			case 1: // any octets
				ev = Event{Kind: EventFrame, Data: take(max(next(), 0) % 40)}
			case 2, 4:
				ev = Event{Kind: EventFrameBad}
			case 3: // a bare command or response
				ev = Event{Kind: EventFrame, Data: []byte{0xFF, 0x13, byte(max(next(), 0))}}
			case 5:
				ev = Event{Kind: EventCarrierUp, Speed: Speed(max(next(), 0) % 9)}
			case 6:
				ev = Event{Kind: EventCarrierDown}
			case 7:
				ev = Event{Kind: EventData, Data: take(max(next(), 0))}
			case 8:
				if sends > 0 {
					sends--
				}
				ev = Event{Kind: EventSendDone}
			case 9:
				if d, ok := s.Deadline(); ok {
					now = d
				}
				ev = Event{Kind: EventTimer}
			case 10:
				ev = Event{Kind: EventHangup}
			case 11:
				now = now.Add(time.Duration(max(next(), 0)) * 100 * time.Millisecond)
				continue
			}
			count(s.Handle(now, ev))
		}
		// the peer has gone quiet: only timers and send completions remain
		now = quietEnd(t, s, now, sends)
		if s.Result() == ResultInProgress {
			t.Fatalf("session ended without a result: state %v", s.st)
		}
		if now.Sub(t0) > 24*time.Hour {
			t.Fatalf("session took %v of virtual time", now.Sub(t0))
		}
	}
}

// fuzzDoc is a two-page document of opaque data.
type fuzzDoc struct{}

func (fuzzDoc) NumPages() int         { return 2 }
func (fuzzDoc) Format(int) PageFormat { return PageFormat{Resolution: ResFine} }
func (fuzzDoc) Encode(i int, m Mode) ([]byte, error) {
	return bytes.Repeat([]byte{0x80, 0x01}, 300), nil
}
