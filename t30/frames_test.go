package t30

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestFrameGolden(t *testing.T) {
	var m FrameMap
	m.Set(0)
	m.Set(9)
	m.Set(255)
	ppr := "FF 13 BD 01 02" + strings.Repeat(" 00", 29) + " 80"
	cases := []struct {
		name string
		f    Frame
		want string
	}{
		{"CFR", NewFrame(FCFCFR, false, true), "FF 13 84"},
		{"FTT", NewFrame(FCFFTT, false, true), "FF 13 44"},
		{"MCF", NewFrame(FCFMCF, false, true), "FF 13 8C"},
		{"RTN", NewFrame(FCFRTN, false, true), "FF 13 4C"},
		{"RTP", NewFrame(FCFRTP, false, true), "FF 13 CC"},
		{"PIP", NewFrame(FCFPIP, false, true), "FF 13 AC"},
		{"PIN", NewFrame(FCFPIN, false, true), "FF 13 2C"},
		{"MPS/X", NewFrame(FCFMPS, true, true), "FF 13 4F"},
		{"EOM/X", NewFrame(FCFEOM, true, true), "FF 13 8F"},
		{"EOP/X", NewFrame(FCFEOP, true, true), "FF 13 2F"}, // spandsp capture
		{"PRI-MPS", NewFrame(FCFPRIMPS, false, true), "FF 13 5E"},
		{"PRI-EOM", NewFrame(FCFPRIEOM, false, true), "FF 13 9E"},
		{"PRI-EOP", NewFrame(FCFPRIEOP, false, true), "FF 13 3E"},
		{"DCN/X", NewFrame(FCFDCN, true, true), "FF 13 FB"}, // spandsp capture
		{"CRP", NewFrame(FCFCRP, false, true), "FF 13 1A"},
		{"RR/X", NewFrame(FCFRR, true, true), "FF 13 6F"},
		{"RNR", NewFrame(FCFRNR, false, true), "FF 13 EC"},
		{"ERR", NewFrame(FCFERR, false, true), "FF 13 1C"},
		{"CTR", NewFrame(FCFCTR, false, true), "FF 13 C4"},
		{"DTC", DefaultCapabilities().DIS().Frame(true), "FF 13 81 00 EE FA C4 80 17"},
		{"PPS-EOP", PPS{FCF2: FCFEOP, Frames: 147}.Frame(true), "FF 13 BF 2F 00 00 92"}, // spandsp capture
		{"PPS-NULL", PPS{FCF2: FCFNull, Page: 2, Block: 1, Frames: 256}.Frame(true), "FF 13 BF 00 02 01 FF"},
		{"PPS-PRI-MPS", PPS{FCF2: FCFPRIMPS, Page: 1, Frames: 1}.Frame(false), "FF 13 BE 5E 01 00 00"},
		{"PPR", m.Frame(true), ppr},
		{"CTC 12000", CTCFrame(V17_12000, true), "FF 13 13 00 28"},
		{"CTC 4800", CTCFrame(V27ter4800, true), "FF 13 13 00 08"},
		{"EOR-EOP", EORFrame(FCFEOP, true), "FF 13 CF 2F"},
		{"EOR-NULL", EORFrame(FCFNull, true), "FF 13 CF 00"},
		{"FCD", FCDFrame(5, []byte{1, 2, 3}), "FF 03 06 05 01 02 03"},
		{"RCP", RCPFrame(), "FF 03 86"}, // spandsp capture
		{"TSI", IdentFrame(FCFTSI, "+1 555 0100", true),
			"FF 03 43 30 30 31 30 20 35 35 35 20 31 2B 20 20 20 20 20 20 20 20 20"}, // spandsp capture
		{"CSI", IdentFrame(FCFCSI, "+1 555 0199", false),
			"FF 03 40 39 39 31 30 20 35 35 35 20 31 2B 20 20 20 20 20 20 20 20 20"}, // spandsp capture
		{"DIS defaults", DefaultCapabilities().DIS().Frame(false), "FF 13 80 00 EE FA C4 80 17"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "TSI" || c.name == "CSI" {
				c.f.Final = false
			}
			got, err := c.f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(c.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("got % X\nwant % X", got, want)
			}
			if len(got) != c.f.MarshalSize() {
				t.Errorf("MarshalSize %d, encoded %d", c.f.MarshalSize(), len(got))
			}
			back, err := ParseFrame(got)
			if err != nil {
				t.Fatal(err)
			}
			if c.f.FCF == FCFDTC {
				c.f.X = false
			}
			if c.f.Info == nil {
				c.f.Info = nil
			}
			if diff := cmp.Diff(c.f, back, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTypedParsers(t *testing.T) {
	f, _ := ParseFrame(unhex("FF 13 BF 2F 00 00 92"))
	p, err := ParsePPS(f)
	if err != nil || p != (PPS{FCF2: FCFEOP, Frames: 147}) {
		t.Errorf("PPS %+v %v", p, err)
	}
	f, _ = ParseFrame(unhex("FF 13 13 00 28"))
	if s, err := ParseCTC(f); err != nil || s != V17_12000 {
		t.Errorf("CTC %v %v", s, err)
	}
	f, _ = ParseFrame(unhex("FF 13 CF 3F"))
	if c, err := ParseEOR(f); err != nil || c != FCFPRIEOP {
		t.Errorf("EOR %v %v", c, err)
	}
	var m FrameMap
	for _, n := range []int{0, 7, 8, 100, 255} {
		m.Set(n)
	}
	got, err := ParsePPR(m.Frame(false))
	if err != nil || got != m || got.Count() != 5 || !got.Has(100) || got.Has(101) || got.Has(-1) || got.Has(256) {
		t.Errorf("PPR %v %v", got, err)
	}
	m.Clear(100)
	if m.Has(100) || m.Count() != 4 {
		t.Error("Clear")
	}
	enc := EncodeIdent("  +49 30 1234567  ")
	id, err := DecodeIdent(enc[:])
	if err != nil || id != "+49 30 1234567" {
		t.Errorf("ident %q %v", id, err)
	}
	long := EncodeIdent("123456789012345678901234")
	if id, _ := DecodeIdent(long[:]); id != "12345678901234567890" {
		t.Errorf("truncated ident %q", id)
	}
	if FCFDTC.octet(true) != 0x81 || FCFDIS.octet(true) != 0x80 || FCFCSI.octet(true) != 0x40 {
		t.Error("X bit set on an initial identification or command-to-send FCF")
	}
	if v := NSF(unhex("B5 00 66 12 34")).Vendor(); v != "B5 00 66" {
		t.Errorf("vendor %q", v)
	}
	if v := NSF(unhex("FF 01 02 03")).Vendor(); v != "FF 01 02 03" {
		t.Errorf("vendor with 2-octet country %q", v)
	}
}

func TestFrameErrors(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrShortFrame},
		{"FF 13", ErrShortFrame},
		{"FE 13 84", ErrAddress},
		{"FF 23 84", ErrControl},
		{"FF 13 84 00", ErrFIF},       // CFR with a FIF
		{"FF 13 80 00 EE", ErrFIF},    // DIS too short
		{"FF 13 BF 2F 00 00", ErrFIF}, // PPS too short
		{"FF 13 BD 00", ErrFIF},       // PPR too short
		{"FF 13 43 30 30", ErrFIF},    // TSI too short
		{"FF 13 13 00", ErrFIF},       // CTC too short
		{"FF 13 CF", ErrFIF},          // EOR without FCF2
		{"FF 03 06 01", ErrFIF},       // FCD without data
		{"FF 13 22", ErrFIF},          // NSS without data
		{"FF 13 BF 8C 00 00 01", nil}, // PPS with a bad FCF2 parses as a frame...
		{"FF 13 83 00 52 78", nil},    // DCS with reserved rate bits parses as a frame...
	}
	for _, c := range cases {
		_, err := ParseFrame(unhex(c.in))
		if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%s: got %v, want %v", c.in, err, c.want)
		}
	}
	// ...but not as its typed payload
	f, _ := ParseFrame(unhex("FF 13 BF 8C 00 00 01"))
	if _, err := ParsePPS(f); !errors.Is(err, ErrFIF) {
		t.Errorf("PPS-MCF accepted: %v", err)
	}
	f, _ = ParseFrame(unhex("FF 13 83 00 52 78"))
	if _, err := ParseDCS(f); !errors.Is(err, ErrFIF) {
		t.Errorf("DCS with reserved rate accepted: %v", err)
	}
	if _, err := ParseDIS(f); !errors.Is(err, ErrUnexpected) {
		t.Errorf("ParseDIS(DCS): %v", err)
	}
	if _, err := (DCS{}).MarshalBinary(); !errors.Is(err, ErrFIF) {
		t.Errorf("DCS without speed: %v", err)
	}
	if _, err := (Frame{FCF: FCFFCD, Info: make([]byte, 300)}).MarshalBinary(); !errors.Is(err, ErrFIF) {
		t.Errorf("oversized FIF: %v", err)
	}
}

func TestFCFNames(t *testing.T) {
	for f, n := range fcfNames {
		if f.String() != n {
			t.Errorf("%02X: %s", uint8(f), f)
		}
		o := f.octet(true)
		g, _ := fcfFromOctet(o)
		if g != f {
			t.Errorf("%s: octet %02X decodes as %s", n, o, g)
		}
	}
	if FCF(0x08).String() != "FCF(0x08)" || FCF(0x08).Known() {
		t.Error("unknown FCF")
	}
}

func TestFrameStringRedacts(t *testing.T) {
	sub := EncodeIdent("5551234567")
	for _, f := range []Frame{IdentFrame(FCFTSI, "5551234567", true), IdentFrame(FCFCSI, "5551234567", false),
		{FCF: FCFNSF, Info: []byte("5551234567")}, {FCF: FCFSUB, Info: sub[:]}} {
		s := f.String()
		r := Record{Kind: RecordFrameSent, Frame: f, PHI: f.CarriesPHI()}
		if strings.Contains(s, "4567") || strings.Contains(s, "7654") || !f.CarriesPHI() ||
			strings.Contains(r.String(), "4567") || strings.Contains(r.String(), "7654") {
			t.Errorf("%s leaks PHI: %q", f.FCF, s)
		}
	}
}

func TestFCS(t *testing.T) {
	// CRC-16/X.25 check value
	if got := FCS([]byte("123456789")); got != 0x906E {
		t.Fatalf("FCS %04X, want 906E", got)
	}
	b := AppendFCS(unhex("FF 13 8C"))
	if got, err := CheckFCS(b); err != nil || !bytes.Equal(got, unhex("FF 13 8C")) {
		t.Fatalf("CheckFCS: % X %v", got, err)
	}
	b[1] ^= 1
	if _, err := CheckFCS(b); !errors.Is(err, ErrFCS) {
		t.Fatalf("corrupt frame passed: %v", err)
	}
}

func TestFrameAssembler(t *testing.T) {
	a := NewFrameAssembler(0)
	a.Write(unhex("FF 13"))
	// carrier lost mid-frame: the two octets must not join the next frame
	if !a.Abandon() {
		t.Fatal("nothing abandoned")
	}
	a.Write(unhex("FF 13 8C"))
	ev := a.End(true)
	if ev.Kind != EventFrame || !bytes.Equal(ev.Data, unhex("FF 13 8C")) {
		t.Fatalf("got %v % X", ev.Kind, ev.Data)
	}
	a.Write(unhex("FF 13 4F"))
	if ev := a.End(false); ev.Kind != EventFrameBad {
		t.Fatalf("fcs-BAD gave %v", ev.Kind)
	}
	if ev := a.End(true); ev.Kind != EventNone {
		t.Fatalf("empty frame gave %v", ev.Kind)
	}
	a = NewFrameAssembler(4)
	a.Write(unhex("FF 13 BF 2F 00 00 92"))
	if ev := a.End(true); ev.Kind != EventFrameBad {
		t.Fatalf("oversized frame gave %v", ev.Kind)
	}
}
