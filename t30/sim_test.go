package t30

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t4"
)

// fault says what the simulated line does to one frame.
type fault uint8

const (
	deliver fault = iota
	drop
	corrupt
	duplicate // delivered twice, as a T.38 peer repeating a packet may
)

// lineSim is an in-memory modem pair on a virtual clock: what one session
// sends arrives at the other after the time the modem would take. It runs
// both sessions to the end without goroutines, so a whole call takes
// milliseconds of real time.
type lineSim struct {
	t     testing.TB
	now   time.Time
	s     [2]*Session
	q     []simEv
	seq   int
	count [2]map[FCF]int // frames sent per direction and FCF
	// frameFault decides the fate of the n-th (1-based) frame of type fcf sent by side from.
	frameFault func(from int, f Frame, n int) fault
	// tcfFault, imageFault may damage TCF / page data sent by side from (n-th time, 1-based).
	tcfFault func(from int, n int) bool
	// replace may substitute the n-th frame of its type sent by side from.
	replace    func(from int, f Frame, n int) (Frame, bool)
	imageFault func(from int, n int, data []byte) []byte
	// delay holds back the n-th frame of type fcf sent by side from.
	delay    func(from int, f Frame, n int) time.Duration
	reorder  bool          // a held-back frame may arrive after later ones
	noFlags  [2]bool       // side's V.21 flags go unheard (its frames arrive)
	lastAt   [2]time.Time  // arrival of the last frame sent by each side
	hangupAt [2]time.Time  // side hangs up abruptly at this time
	startAt  [2]time.Time  // side starts late, at this time (zero: at once)
	doneLag  time.Duration // EventSendDone comes this long after the peer got the signal
	tcfN     [2]int
	imgN     [2]int
	trace    []string
	steps    int
}

type simEv struct {
	at  time.Time
	seq int
	to  int
	ev  Event
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newSim(t testing.TB, a, b *Session) *lineSim {
	return &lineSim{t: t, now: t0, s: [2]*Session{a, b}, count: [2]map[FCF]int{{}, {}}}
}

func (l *lineSim) push(at time.Time, to int, ev Event) {
	l.seq++
	l.q = append(l.q, simEv{at: at, seq: l.seq, to: to, ev: ev})
}

func (l *lineSim) do(side int, acts []Action) {
	peer := 1 - side
	for _, a := range acts {
		l.trace = append(l.trace, fmt.Sprintf("%6.2fs %c %s", l.now.Sub(t0).Seconds(), 'A'+side, a))
		switch a.Kind {
		case ActionSendTone:
			l.push(l.now.Add(500*time.Millisecond), side, Event{Kind: EventSendDone})
		case ActionSendFrames:
			octets := 0
			for _, f := range a.Frames {
				octets += f.MarshalSize() + 2
			}
			rate, pre := 300, time.Second
			if a.Speed != SpeedNone {
				rate, pre = a.Speed.BitRate(), 200*time.Millisecond
			}
			at := l.now.Add(pre + time.Duration(octets*8)*time.Second/time.Duration(rate))
			l.push(at.Add(l.doneLag), side, Event{Kind: EventSendDone})
			if a.Speed != SpeedNone {
				l.push(l.now.Add(pre), peer, Event{Kind: EventCarrierUp, Speed: a.Speed})
			} else if len(a.Frames) > 0 && !l.noFlags[side] {
				// V.21 flags begin now (later if the burst is held back)
				var late time.Duration
				if l.delay != nil {
					f := a.Frames[0]
					late = l.delay(side, f, l.count[side][f.FCF]+1)
				}
				l.push(l.now.Add(late), peer, Event{Kind: EventCarrierUp})
			}
			fat := l.now.Add(pre)
			for _, f := range a.Frames {
				fat = fat.Add(time.Duration((f.MarshalSize()+2)*8) * time.Second / time.Duration(rate))
				l.count[side][f.FCF]++
				fl := deliver
				if l.frameFault != nil {
					fl = l.frameFault(side, f, l.count[side][f.FCF])
				}
				if l.replace != nil {
					if g, ok := l.replace(side, f, l.count[side][f.FCF]); ok {
						l.trace = append(l.trace, fmt.Sprintf("        line turns %s into %s", f.FCF, g.FCF))
						f = g
					}
				}
				b, err := f.MarshalBinary()
				if err != nil {
					l.t.Fatalf("marshal %v: %v", f, err)
				}
				fa := fat
				if l.delay != nil {
					fa = fa.Add(l.delay(side, f, l.count[side][f.FCF]))
				}
				if !l.reorder {
					// a held-back frame holds back those after it, as
					// T.38 UDPTL delivers in order
					if fa.Before(l.lastAt[side]) {
						fa = l.lastAt[side]
					}
					l.lastAt[side] = fa
				}
				switch fl {
				case deliver:
					l.push(fa, peer, Event{Kind: EventFrame, Data: b})
				case duplicate:
					l.push(fa, peer, Event{Kind: EventFrame, Data: b})
					l.push(fa.Add(20*time.Millisecond), peer, Event{Kind: EventFrame, Data: b})
				case corrupt:
					l.push(fa, peer, Event{Kind: EventFrameBad})
				}
			}
			l.push(at, peer, Event{Kind: EventCarrierDown})
		case ActionSendTCF:
			l.tcfN[side]++
			at := l.now.Add(a.Duration)
			l.push(at, side, Event{Kind: EventSendDone})
			data := make([]byte, a.Speed.BitRate()/8*int(a.Duration/time.Millisecond)/1000)
			if l.tcfFault != nil && l.tcfFault(side, l.tcfN[side]) {
				for i := 0; i < len(data); i += 100 {
					data[i] = 0x55
				}
			}
			l.push(at, peer, Event{Kind: EventCarrierUp, Speed: a.Speed})
			l.push(at, peer, Event{Kind: EventData, Data: data})
			l.push(at, peer, Event{Kind: EventCarrierDown})
		case ActionSendImage:
			l.imgN[side]++
			data := a.Data
			if l.imageFault != nil {
				data = l.imageFault(side, l.imgN[side], append([]byte(nil), data...))
			}
			rate := time.Duration(a.Speed.BitRate())
			at := l.now.Add(200*time.Millisecond + time.Duration(len(a.Data)*8)*time.Second/rate)
			l.push(at, side, Event{Kind: EventSendDone})
			l.push(l.now.Add(200*time.Millisecond), peer, Event{Kind: EventCarrierUp, Speed: a.Speed})
			for i := 0; i < len(data); i += 1000 {
				end := min(i+1000, len(data))
				l.push(l.now.Add(200*time.Millisecond+time.Duration(end*8)*time.Second/rate), peer, Event{Kind: EventData, Data: data[i:end]})
			}
			l.push(at, peer, Event{Kind: EventCarrierDown})
		case ActionHangup:
			l.push(l.now.Add(10*time.Millisecond), peer, Event{Kind: EventHangup})
		}
	}
}

// run drives both sessions until both are done, failing if virtual time
// passes limit (a hang).
func (l *lineSim) run(limit time.Duration) {
	l.t.Helper()
	for i, s := range l.s {
		if s != nil && !l.startAt[i].After(l.now) {
			l.startAt[i] = time.Time{}
			l.do(i, s.Start(l.now))
		}
	}
	for {
		l.steps++
		if l.steps > 200000 {
			l.t.Fatalf("too many steps\n%s", l.tail())
		}
		done := true
		for _, s := range l.s {
			if s != nil && !s.Done() {
				done = false
			}
		}
		if done {
			return
		}
		// next: earliest of queue head, deadlines, hangups
		sort.Slice(l.q, func(i, j int) bool {
			if !l.q[i].at.Equal(l.q[j].at) {
				return l.q[i].at.Before(l.q[j].at)
			}
			return l.q[i].seq < l.q[j].seq
		})
		next, kind, who := time.Time{}, -1, -1
		if len(l.q) > 0 {
			next, kind = l.q[0].at, 0
		}
		for i, s := range l.s {
			if s == nil || s.Done() {
				continue
			}
			if d, ok := s.Deadline(); ok && (kind < 0 || d.Before(next)) {
				next, kind, who = d, 1, i
			}
			if h := l.hangupAt[i]; !h.IsZero() && (kind < 0 || h.Before(next)) {
				next, kind, who = h, 2, i
			}
			if st := l.startAt[i]; !st.IsZero() && (kind < 0 || st.Before(next)) {
				next, kind, who = st, 3, i
			}
		}
		if kind < 0 {
			l.t.Fatalf("nothing to do but sessions not done\n%s", l.tail())
		}
		if next.After(l.now) {
			l.now = next
		}
		if l.now.Sub(t0) > limit {
			l.t.Fatalf("call did not end within %v of virtual time\n%s", limit, l.tail())
		}
		switch kind {
		case 0:
			e := l.q[0]
			l.q = l.q[1:]
			if s := l.s[e.to]; s != nil && !s.Done() && l.startAt[e.to].IsZero() {
				l.do(e.to, s.Handle(l.now, e.ev))
			} // a side not started yet hears nothing
		case 1:
			l.do(who, l.s[who].Tick(l.now))
		case 2:
			// abrupt hangup: the session just vanishes; the peer sees the line drop
			l.hangupAt[who] = time.Time{}
			l.trace = append(l.trace, fmt.Sprintf("%6.2fs %c vanishes", l.now.Sub(t0).Seconds(), 'A'+who))
			l.s[who].end(ResultCallDropped)
			l.push(l.now, 1-who, Event{Kind: EventHangup})
		case 3:
			l.startAt[who] = time.Time{}
			l.trace = append(l.trace, fmt.Sprintf("%6.2fs %c starts", l.now.Sub(t0).Seconds(), 'A'+who))
			l.do(who, l.s[who].Start(l.now))
		}
	}
}

func (l *lineSim) tail() string {
	tr := l.trace
	if len(tr) > 60 {
		tr = tr[len(tr)-60:]
	}
	return strings.Join(tr, "\n")
}

// ---- documents ----

// testPage draws a deterministic page with text-like strokes that differ by n.
func testPage(n, width, height int) *t4.Bitmap {
	b := t4.NewBitmap(width, height)
	for y := 0; y < height; y++ {
		row := b.Row(y)
		if (y/12)%3 == 2 {
			continue
		}
		for x := 0; x < width; x++ {
			v := (x*7 + y*3 + n*131) % 97
			if (x/9+y/12+n)%5 == 0 && v < 40 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	// page number as a block so pages are distinct
	for y := 5; y < 30 && y < height; y++ {
		for x := 40 + n*20; x < 50+n*20 && x < width; x++ {
			b.Row(y)[x/8] |= 0x80 >> (x % 8)
		}
	}
	return b
}

func testDoc(pages, height int, res Resolution) *BitmapDocument {
	d := &BitmapDocument{Resolution: res, Width: WidthA4}
	for i := 0; i < pages; i++ {
		d.Pages = append(d.Pages, testPage(i, 1728, height))
	}
	return d
}

type pair struct {
	tx, rx *Session
	got    []ReceivedPage
	txRec  []Record
	rxRec  []Record
	sim    *lineSim
	doc    *BitmapDocument
	txCfg  Config
	rxCfg  Config
}

type pairOpt func(p *pair)

func withCaps(tx, rx func(*Capabilities)) pairOpt {
	return func(p *pair) {
		if tx != nil {
			c := DefaultCapabilities()
			tx(&c)
			p.txCfg.Capabilities = &c
		}
		if rx != nil {
			c := DefaultCapabilities()
			rx(&c)
			p.rxCfg.Capabilities = &c
		}
	}
}

func newPair(t testing.TB, doc *BitmapDocument, opts ...pairOpt) *pair {
	p := &pair{doc: doc}
	p.txCfg = Config{Calling: true, Transmit: true, Document: doc, LocalIdent: "+1 555 0100",
		NSF: []byte{0xB5, 0x00, 0x66, 1, 2}, OnRecord: func(r Record) { p.txRec = append(p.txRec, r) }}
	p.rxCfg = Config{LocalIdent: "+1 555 0199", OnRecord: func(r Record) { p.rxRec = append(p.rxRec, r) },
		OnPage: func(rp ReceivedPage) error { p.got = append(p.got, rp); return nil }}
	for _, o := range opts {
		o(p)
	}
	var err error
	p.tx, err = NewSession(p.txCfg)
	if err != nil {
		t.Fatal(err)
	}
	p.rx, err = NewSession(p.rxCfg)
	if err != nil {
		t.Fatal(err)
	}
	p.sim = newSim(t, p.tx, p.rx)
	return p
}

// checkPages decodes every received page and compares it with the sent one.
func (p *pair) checkPages(t testing.TB) {
	t.Helper()
	if len(p.got) != len(p.doc.Pages) {
		t.Fatalf("received %d pages, sent %d\n%s", len(p.got), len(p.doc.Pages), p.sim.tail())
	}
	for i, rp := range p.got {
		want := p.doc.Pages[i]
		b, st, err := t4.DecodePage(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
			Compression: T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
		if err != nil {
			t.Fatalf("page %d: decode: %v", i+1, err)
		}
		if st.BadRows != 0 || b.Height != want.Height || !bytes.Equal(b.Pix, want.Pix) {
			t.Fatalf("page %d differs: %d rows (want %d), %d bad", i+1, b.Height, want.Height, st.BadRows)
		}
	}
}
