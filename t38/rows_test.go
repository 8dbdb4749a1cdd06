package t38

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// TestRowCutter: page data cut after every R-th EOL with fill decodes to
// the same page; every packet but the last holds exactly R EOLs and ends
// with the last one (what the receiver checks before it trusts the
// count), and largest predicts the largest packet.
func TestRowCutter(t *testing.T) {
	doc := testDoc(1, 300, t30.ResFine)
	for _, comp := range []t30.Compression{t30.MH, t30.MR} {
		data, err := doc.Encode(0, t30.Mode{Compression: comp, Resolution: t30.ResFine, Width: t30.WidthA4, Speed: t30.V29_9600})
		if err != nil {
			t.Fatal(err)
		}
		var c rowCutter
		c.scan(data)
		if len(c.eols) != 300 {
			t.Fatalf("%v: %d row EOLs before RTC, want 300", comp, len(c.eols))
		}
		for _, r := range []int{1, 2, 7} {
			t.Run(fmt.Sprintf("%v/R%d", comp, r), func(t *testing.T) {
				out, cuts := c.cut(nil, nil, data, r)
				if len(cuts) != 300/r {
					t.Fatalf("%d cuts, want %d", len(cuts), 300/r)
				}
				lo, big := 0, 0
				var sc pageEndScanner
				for i := 0; i <= len(cuts); i++ {
					hi := len(out)
					if i < len(cuts) {
						hi = cuts[i]
					}
					big = max(big, hi-lo)
					before := sc.total
					sc.scan(out[lo:hi])
					if i < len(cuts) && (sc.total-before != r || !sc.endEOL) {
						t.Fatalf("packet %d: %d EOLs (want %d), ends on one %v", i, sc.total-before, r, sc.endEOL)
					}
					lo = hi
				}
				if !sc.done {
					t.Fatal("no RTC at the end")
				}
				if got := c.largest(r); got != big {
					t.Errorf("largest %d, packets up to %d", got, big)
				}
				b, st, err := t4.DecodePage(bytes.NewReader(out), 1728, &t4.DecodeOptions{
					Compression: t30.T4Compression(comp), BitOrder: t4.LSBFirst})
				if err != nil || st.BadRows != 0 || b.Height != 300 || rowsDiffer(b, doc.Pages[0]) != 0 {
					t.Fatalf("decoded %d rows, %d bad, %v", b.Height, st.BadRows, err)
				}
			})
		}
	}
}

// TestRowCutterChoose: R gives packets of about the target size and
// none over the budget; a page whose rows do not fit is not cut in rows.
func TestRowCutterChoose(t *testing.T) {
	doc := testDoc(1, 300, t30.ResFine)
	data, err := doc.Encode(0, t30.Mode{Compression: t30.MR, Resolution: t30.ResFine, Width: t30.WidthA4, Speed: t30.V29_9600})
	if err != nil {
		t.Fatal(err)
	}
	var c rowCutter
	c.scan(data)
	r := c.choose(36, 300)
	if r < 1 || c.largest(r) > 300 {
		t.Fatalf("R %d, largest packet %d", r, c.largest(r))
	}
	avg := len(data) * r / len(c.eols)
	if avg < 18 || avg > 72 {
		t.Errorf("R %d: packets of %d octets on average for a target of 36", r, avg)
	}
	if r := c.choose(36, 8); r != 0 {
		t.Errorf("budget of 8 octets: R %d, want 0 (rows longer than a packet)", r)
	}
	c.scan(make([]byte, 100)) // TCF
	if r := c.choose(36, 300); r != 0 {
		t.Errorf("TCF: R %d", r)
	}
}

// TestRowsLostUncertain drives the receive side directly: whole-row
// packets with one lost in the middle are filled exactly (no uncertain
// event); the page's first packet lost makes the count uncertain, while
// lost packets before a packet that starts with the page's leading EOL
// (indicator repeats) do not.
func TestRowsLostUncertain(t *testing.T) {
	doc := testDoc(1, 300, t30.ResFine)
	data, err := doc.Encode(0, t30.Mode{Compression: t30.MR, Resolution: t30.ResFine, Width: t30.WidthA4, Speed: t30.V29_9600})
	if err != nil {
		t.Fatal(err)
	}
	var c rowCutter
	c.scan(data)
	out, cuts := c.cut(nil, nil, data, 3)
	pkts := [][]byte{}
	lo := 0
	for _, hi := range append(cuts, len(out)) {
		p := append([]byte(nil), out[lo:hi]...)
		BitReverse(p, p) // as on the wire
		pkts = append(pkts, p)
		lo = hi
	}
	run := func(lose map[int]bool, lostBefore int) (uncertain bool, rows int) {
		cfg := TerminalConfig{}
		if err := cfg.fill(); err != nil {
			t.Fatal(err)
		}
		co, err := newCore(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := &co.rx
		r.startCarrier(t30.V29_9600)
		if lostBefore > 0 {
			r.gap(lostBefore)
		}
		for i, p := range pkts {
			if lose[i] {
				r.gap(1)
				continue
			}
			r.image(p)
		}
		var page []byte
		for _, ev := range co.events {
			if ev.Kind == t30.EventData {
				uncertain = uncertain || ev.Uncertain
				page = append(page, ev.Data...)
			}
		}
		b, _, err := t4.DecodePage(bytes.NewReader(page), 1728, &t4.DecodeOptions{Compression: t4.MR, BitOrder: t4.LSBFirst})
		if err != nil {
			t.Fatal(err)
		}
		return uncertain, b.Height
	}
	if u, rows := run(map[int]bool{10: true, 11: true, 40: true}, 0); u || rows != 300 {
		t.Errorf("packets lost mid-page: uncertain %v, %d rows (want certain, 300)", u, rows)
	}
	if u, _ := run(nil, 2); u {
		t.Errorf("two packets lost before the page's first packet: uncertain")
	}
	if u, _ := run(map[int]bool{0: true}, 0); !u {
		t.Errorf("the page's first packet lost: not uncertain")
	}
}
