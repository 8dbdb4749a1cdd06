package fax

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/tone"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// testPage draws a deterministic page with text-like strokes.
func testPage(n, width, height int) *t4.Bitmap {
	b := t4.NewBitmap(width, height)
	for y := 0; y < height; y++ {
		if (y/12)%3 == 2 {
			continue
		}
		row := b.Row(y)
		for x := 0; x < width; x++ {
			v := (x*7 + y*3 + n*131) % 97
			if (x/9+y/12+n)%5 == 0 && v < 40 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return b
}

func testDoc(pages, height int) *t30.BitmapDocument {
	d := &t30.BitmapDocument{Resolution: t30.ResFine, Width: t30.WidthA4}
	for i := 0; i < pages; i++ {
		d.Pages = append(d.Pages, testPage(i, 1728, height))
	}
	return d
}

// audioCaps offers modems and ECM (MMR only with ECM).
func audioCaps(ecm bool, modems t30.ModemSet) *t30.Capabilities {
	c := t30.DefaultCapabilities()
	c.Modems = modems
	c.ECM = ecm
	if !ecm {
		c.MMR = false
	}
	return &c
}

// line is a channel between the two terminals: G.711 companding and white
// noise at a level (dBm0; 0 means none).
type line struct {
	g711  bool
	law   g711.Law
	noise float64
	rng   *rand.Rand
}

func (l *line) carry(x []int16) {
	if l.noise != 0 {
		rms := dsp.DBm0ToRMS(l.noise)
		for i := range x {
			v := float64(x[i]) + rms*l.rng.NormFloat64()
			x[i] = int16(max(-32768, min(32767, v)))
		}
	}
	if l.g711 {
		g711.Channel(l.law, x)
	}
}

type callSpec struct {
	ecm    bool
	modems t30.ModemSet
	g711   bool
	law    g711.Law
	noise  float64
	pages  int
	height int
	level  float64             // both ends' sending level, dBm0 (0: the defaults)
	doc    *t30.BitmapDocument // nil: testDoc(pages, height)
}

type callOutcome struct {
	doc            *t30.BitmapDocument
	got            []t30.ReceivedPage
	tx, rx         t30.Result
	txSt, rxSt     t30.Stats
	txCore, rxCore Stats
	lineTime       time.Duration
	lossy          bool // non-ECM pages may have rows reported bad
	aHeard, bHeard []t30.EventKind
}

// runCall holds a call between two Terminals, joined sample for sample,
// under the line's virtual time.
func runCall(t testing.TB, spec callSpec) callOutcome {
	t.Helper()
	if spec.pages == 0 {
		spec.pages = 1
	}
	if spec.height == 0 {
		spec.height = 400
	}
	o := callOutcome{doc: spec.doc}
	if o.doc == nil {
		o.doc = testDoc(spec.pages, spec.height)
	}
	trace := func(who string) func(t30.Record) { return traceFn(t, who) }
	txs, err := t30.NewSession(t30.Config{Calling: true, OnRecord: trace("A"), Transmit: true, Document: o.doc,
		Capabilities: audioCaps(spec.ecm, spec.modems), LocalIdent: "+1 555 0100"})
	require.NoError(t, err)
	rxs, err := t30.NewSession(t30.Config{OnRecord: trace("B"), CheckPage: func(data []byte, m t30.Mode) (t30.PageQuality, error) {
		q, err := t30.DefaultPageChecker(data, m)
		if os.Getenv("FAX_TRACE") != "" {
			t.Logf("page check: %d octets %+v %v head % x tail % x", len(data), q, err, data[:min(16, len(data))], data[max(0, len(data)-24):])
		}
		return q, err
	}, LocalIdent: "+1 555 0199", Capabilities: audioCaps(spec.ecm, spec.modems),
		OnPage: func(p t30.ReceivedPage) error { o.got = append(o.got, p); return nil }})
	require.NoError(t, err)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewTerminal(txs, NewCore(&Config{TxLevel: spec.level}), start)
	b := NewTerminal(rxs, NewCore(&Config{TxLevel: spec.level}), start)
	a.OnSignal = func(e t30.Event) { o.aHeard = append(o.aHeard, e.Kind) }
	b.OnSignal = func(e t30.Event) { o.bHeard = append(o.bHeard, e.Kind) }
	ab := &line{g711: spec.g711, law: spec.law, noise: spec.noise, rng: rand.New(rand.NewPCG(1, 2))}
	ba := &line{g711: spec.g711, law: spec.law, noise: spec.noise, rng: rand.New(rand.NewPCG(3, 4))}
	var aOut, bOut, aIn, bIn [BlockSize]int16
	limit := int(5 * time.Minute / (20 * time.Millisecond))
	for i := 0; i < limit && !(a.Done() && b.Done()); i++ {
		a.Process(aIn[:], aOut[:])
		b.Process(bIn[:], bOut[:])
		aIn, bIn = bOut, aOut
		ba.carry(aIn[:])
		ab.carry(bIn[:])
	}
	require.True(t, a.Done() && b.Done(), "call did not end in 5 minutes of line time")
	o.tx, o.rx = txs.Result(), rxs.Result()
	o.txSt, o.rxSt = txs.Stats(), rxs.Stats()
	o.txCore, o.rxCore = a.Core().Stats(), b.Core().Stats()
	o.lineTime = a.Now().Sub(start)
	return o
}

func checkPages(t testing.TB, o callOutcome) {
	t.Helper()
	require.Len(t, o.got, len(o.doc.Pages), "pages received")
	for i, rp := range o.got {
		want := o.doc.Pages[i]
		b, st, err := t4.DecodePage(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
			Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
		require.NoError(t, err, "page %d", i+1)
		diff := 0
		for y := 0; y < max(b.Height, want.Height); y++ {
			if y >= b.Height || y >= want.Height || !bytes.Equal(b.Row(y), want.Row(y)) {
				diff++
			}
		}
		if !rp.Mode.ECM && o.lossy {
			// Non-ECM over a lossy path: a lost packet takes its 20 ms of
			// bits, and the rows in them, with it (the receiver skips the
			// block to keep its carrier), so the page can be shorter.
			// Every decoded row must be a sent row, in order, or one the
			// receiver reported bad; at most a few rows per loss vanish.
			j, bad := 0, 0
			for y := 0; y < b.Height; y++ {
				k := j
				for k < want.Height && k < j+8 && !bytes.Equal(b.Row(y), want.Row(k)) {
					k++
				}
				if k < want.Height && k < j+8 {
					j = k + 1
				} else {
					bad++
				}
			}
			t.Logf("page %d: %d of %d rows decoded, %d not sent rows, %d reported bad", i+1, b.Height, want.Height, bad, rp.Quality.BadRows)
			require.LessOrEqual(t, bad, rp.Quality.BadRows, "page %d: rows that were never sent", i+1)
			require.GreaterOrEqual(t, b.Height, want.Height*9/10, "page %d: too many rows lost", i+1)
			continue
		}
		require.Zero(t, diff, "page %d differs in %d rows", i+1, diff)
		require.Zero(t, st.BadRows, "page %d", i+1)
	}
}

func TestBackToBack(t *testing.T) {
	for _, c := range []struct {
		name string
		spec callSpec
		want t30.Speed
	}{
		{"V29-9600-ECM", callSpec{ecm: true, modems: t30.ModemsV29 | t30.ModemsV27ter}, t30.V29_9600},
		{"V29-9600-nonECM", callSpec{modems: t30.ModemsV29 | t30.ModemsV27ter}, t30.V29_9600},
		{"V27ter-4800-ECM", callSpec{ecm: true, modems: t30.ModemsV27ter}, t30.V27ter4800},
		{"V27ter-4800-nonECM-ulaw-noise", callSpec{modems: t30.ModemsV27ter, g711: true, law: g711.ULaw, noise: -45}, t30.V27ter4800},
		{"V29-9600-ECM-alaw-noise", callSpec{ecm: true, modems: t30.ModemsV29 | t30.ModemsV27ter, g711: true, law: g711.ALaw, noise: -45}, t30.V29_9600},
		{"V29-9600-ECM-3pages", callSpec{ecm: true, modems: t30.ModemsV29 | t30.ModemsV27ter, g711: true, law: g711.ULaw, pages: 3}, t30.V29_9600},
		{"V27ter-4800-nonECM-3pages", callSpec{modems: t30.ModemsV27ter, g711: true, law: g711.ALaw, pages: 3}, t30.V27ter4800},
		{"V29-9600-ECM-at-40dBm0", callSpec{ecm: true, modems: t30.ModemsV29 | t30.ModemsV27ter, g711: true, law: g711.ULaw, level: -40}, t30.V29_9600},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := runCall(t, c.spec)
			t.Logf("tx %v rx %v; line time %v; rx modem %+v", o.tx, o.rx, o.lineTime, o.rxCore)
			require.Equal(t, t30.ResultOK, o.tx, fmt.Sprint(o.tx))
			require.Equal(t, t30.ResultOK, o.rx, fmt.Sprint(o.rx))
			checkPages(t, o)
			require.Equal(t, c.want, o.rxCore.LastSpeed)
			require.Zero(t, o.rxCore.FramesBad, "bad frames")
			require.Zero(t, o.rxCore.TrainingFailed)
			want := -10.0
			if c.spec.level != 0 {
				want = c.spec.level
			}
			require.InDelta(t, want, o.rxCore.Level, 1, "receive level")
			// The caller heard CED. (The answerer hears no CNG: it listens
			// only for the 0.2 s before its CED, and CNG's first burst
			// lasts 0.5 s; TestAnswererHearsCNG has the PSTN's delay.)
			require.Contains(t, o.aHeard, t30.EventCED)
			require.Greater(t, o.rxCore.SNR, 25.0)
		})
	}
}

// TestNonECMRunsOfOnes sends a page of text in MR without ECM: T.4 codes
// a row whose changes lie where the row above has them as a "1" per
// change (V0), so such pages have runs of ones longer than a modem's
// closing ones. They are page data: the receiver ends the data on its
// closing ones only after the page's RTC.
func TestNonECMRunsOfOnes(t *testing.T) {
	ps, err := sample.Letters(1, sample.Fine)
	require.NoError(t, err)
	// The letter's head (700 rows: the text starts well before) keeps
	// the test short.
	head := t4.NewBitmap(ps[0].Width, 700)
	for y := range head.Height {
		copy(head.Row(y), ps[0].Row(y))
	}
	doc := &t30.BitmapDocument{Resolution: t30.ResFine, Pages: []*t4.Bitmap{head}}
	data, err := doc.Encode(0, t30.Mode{Compression: t30.MR, Resolution: t30.ResFine})
	require.NoError(t, err)
	run, longest := 0, 0
	for i := range 8 * len(data) {
		if data[i>>3]>>(i&7)&1 != 0 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	require.Greater(t, longest, tailOnes, "the page has no run of ones longer than the closing ones: the test tests nothing")
	for _, m := range []t30.ModemSet{t30.ModemsV27ter, t30.ModemsV29 | t30.ModemsV27ter} {
		t.Run(m.String(), func(t *testing.T) {
			o := runCall(t, callSpec{modems: m, g711: true, law: g711.ALaw, doc: doc})
			require.Equal(t, t30.ResultOK, o.tx, fmt.Sprint(o.tx))
			require.Equal(t, t30.ResultOK, o.rx, fmt.Sprint(o.rx))
			require.Equal(t, t30.MR, o.got[0].Mode.Compression)
			checkPages(t, o)
		})
	}
}

// traceFn logs the session's records with FAX_TRACE=1 and -v.
func traceFn(t testing.TB, who string) func(t30.Record) {
	if !testing.Verbose() || os.Getenv("FAX_TRACE") == "" {
		return nil
	}
	return func(r t30.Record) { t.Logf("%s %s %+v", who, r.Time.Format("04:05.000"), r) }
}

// TestANSam: an answerer sending ANSam/PR instead of CED is heard by the
// caller as the answer tone (the detector classifies it as ANSam/PR), and
// the call goes on in T.30.
func TestANSam(t *testing.T) {
	caps := audioCaps(true, t30.ModemsV29|t30.ModemsV27ter)
	txs, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: testDoc(1, 100), Capabilities: caps})
	require.NoError(t, err)
	rxs, err := t30.NewSession(t30.Config{Capabilities: caps})
	require.NoError(t, err)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewTerminal(txs, NewCore(nil), start)
	b := NewTerminal(rxs, NewCore(&Config{ANSam: true}), start)
	var heard []t30.EventKind
	a.OnSignal = func(e t30.Event) { heard = append(heard, e.Kind) }
	det := tone.NewDetector(tone.DetConfig{})
	var kinds []tone.Kind
	var aOut, bOut, aIn, bIn [BlockSize]int16
	for i := 0; i < 5000 && !(a.Done() && b.Done()); i++ {
		a.Process(aIn[:], aOut[:])
		b.Process(bIn[:], bOut[:])
		aIn, bIn = bOut, aOut
		for _, e := range det.Process(bOut[:]) {
			if e.On {
				kinds = append(kinds, e.Tone)
			}
		}
	}
	require.Equal(t, t30.ResultOK, txs.Result())
	require.Equal(t, t30.ResultOK, rxs.Result())
	require.Contains(t, heard, t30.EventCED)
	require.Contains(t, kinds, tone.ANSamPR, "the answer tone: %v", kinds)
	require.NotContains(t, kinds, tone.CED)
}

// TestAnswererHearsCNG: with the PSTN's 2 s of silence before CED, the
// answering modem recognises the caller's CNG and reports it.
func TestAnswererHearsCNG(t *testing.T) {
	txs, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: testDoc(1, 50)})
	require.NoError(t, err)
	rxs, err := t30.NewSession(t30.Config{})
	require.NoError(t, err)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewTerminal(txs, NewCore(nil), start)
	b := NewTerminal(rxs, NewCore(&Config{CEDDelay: 2 * time.Second}), start)
	var heard []t30.EventKind
	b.OnSignal = func(e t30.Event) { heard = append(heard, e.Kind) }
	var aOut, bOut, aIn, bIn [BlockSize]int16
	for range 100 {
		a.Process(aIn[:], aOut[:])
		b.Process(bIn[:], bOut[:])
		aIn, bIn = bOut, aOut
	}
	require.Equal(t, []t30.EventKind{t30.EventCNG}, heard)
}
