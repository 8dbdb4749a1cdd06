package t38

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// Scripted conversations with one Terminal: the test plays the far end
// on the other side of an in-memory pipe, sending IFP packets as real
// peers do and reading what the terminal sends.

type farEnd struct {
	t    *testing.T
	ep   transport.Endpoint
	term *Terminal
	snd  *Sender
	rcv  *Receiver
	ver  Version
}

func newFarEnd(t *testing.T, cfg TerminalConfig) *farEnd {
	t.Helper()
	a, b := transport.PipeEndpoints(&transport.PipeConfig{QueueLen: 1 << 14})
	if cfg.Clock == nil {
		cfg.Clock = newScaledClock(20)
	}
	term, err := NewTerminal(a, cfg)
	require.NoError(t, err)
	snd, err := NewSender(SenderConfig{MaxDatagram: 1400})
	require.NoError(t, err)
	rcv, err := NewReceiver(ReceiverConfig{Version: cfg.Version})
	require.NoError(t, err)
	f := &farEnd{t: t, ep: b, term: term, snd: snd, rcv: rcv, ver: cfg.Version}
	t.Cleanup(func() {
		term.Close()
		a.Close()
		b.Close()
	})
	return f
}

func (f *farEnd) send(p IFP) {
	f.t.Helper()
	p.Version = f.ver
	b, err := p.MarshalBinary()
	require.NoError(f.t, err)
	d, err := f.snd.Append(nil, b)
	require.NoError(f.t, err)
	require.NoError(f.t, f.ep.WritePacket(context.Background(), d))
}

// skip consumes a sequence number without sending: a packet lost in the
// network.
func (f *farEnd) skip() {
	_, err := f.snd.Append(nil, []byte{0})
	require.NoError(f.t, err)
}

func ind(i Indicator) IFP { return IFP{Type: TypeIndicator, Indicator: i} }

func dat(dt DataType, fields ...Field) IFP { return IFP{Type: TypeData, DataType: dt, Fields: fields} }

func fld(ft FieldType, data []byte) Field { return Field{Type: ft, Data: data} }

func rev(b []byte) []byte {
	out := make([]byte, len(b))
	BitReverse(out, b)
	return out
}

// events reads n events from the terminal, then checks that no other
// comes within a short while.
func (f *farEnd) events(n int) []t30.Event {
	f.t.Helper()
	var got []t30.Event
	tm := time.NewTimer(3 * time.Second)
	defer tm.Stop()
	for len(got) < n {
		select {
		case ev := <-f.term.Events():
			got = append(got, ev)
		case <-tm.C:
			f.t.Fatalf("got %d events, want %d: %v", len(got), n, kinds(got))
		}
	}
	select {
	case ev := <-f.term.Events():
		f.t.Fatalf("unexpected extra event %v after %v", ev.Kind, kinds(got))
	case <-time.After(50 * time.Millisecond):
	}
	return got
}

func kinds(evs []t30.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Kind.String())
	}
	return s
}

// Frames (line bit order, as t30 holds them).
var (
	frameDIS = []byte{0xFF, 0x13, 0x80, 0x00, 0xEE, 0xFA, 0x80}
	frameCSI = []byte{0xFF, 0x03, 0x40, 0x31, 0x32, 0x33, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20}
)

func ev(k t30.EventKind, data []byte) t30.Event { return t30.Event{Kind: k, Data: data} }

func TestTerminalReceiveTolerance(t *testing.T) {
	up := t30.Event{Kind: t30.EventCarrierUp}
	down := t30.Event{Kind: t30.EventCarrierDown}
	cases := []struct {
		name string
		in   func(f *farEnd)
		want []t30.Event
	}{
		{"spandsp-style burst with repeats", func(f *farEnd) {
			for i := 0; i < 3; i++ {
				f.send(ind(IndV21Preamble))
			}
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameCSI[:5]))))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameCSI[5:]))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOK, nil)))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameDIS))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOK, nil)))
			for i := 0; i < 3; i++ {
				f.send(dat(DataV21, fld(FieldHDLCSigEnd, nil)))
			}
			for i := 0; i < 3; i++ {
				f.send(ind(IndNoSignal))
			}
		}, []t30.Event{up, ev(t30.EventFrame, frameCSI), ev(t30.EventFrame, frameDIS), down}},
		{"data inside fcs-OK, repeated fcs-OK, fcs-OK-sig-end then a stray sig-end", func(f *farEnd) {
			f.send(ind(IndV21Preamble))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameCSI[:4]))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOK, rev(frameCSI[4:]))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOK, rev(frameCSI[4:]))))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameDIS))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOKSigEnd, nil)))
			f.send(dat(DataV21, fld(FieldHDLCFCSOKSigEnd, nil)))
			f.send(dat(DataV21, fld(FieldHDLCSigEnd, nil)))
			f.send(ind(IndNoSignal))
		}, []t30.Event{up, ev(t30.EventFrame, frameCSI), ev(t30.EventFrame, frameDIS), down}},
		{"HDLC with no preamble indicator, several fields in one packet", func(f *farEnd) {
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameDIS)), fld(FieldHDLCFCSOK, nil), fld(FieldHDLCSigEnd, nil)))
			f.send(ind(IndNoSignal))
		}, []t30.Event{up, ev(t30.EventFrame, frameDIS), down}},
		{"frame cut short by no-signal, fcs-BAD", func(f *farEnd) {
			f.send(ind(IndV21Preamble))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameDIS))))
			f.send(dat(DataV21, fld(FieldHDLCFCSBad, nil)))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameCSI))))
			f.send(ind(IndNoSignal))
		}, []t30.Event{up, {Kind: t30.EventFrameBad}, {Kind: t30.EventFrameBad}, down}},
		{"a packet lost mid-frame makes that frame bad, never glued", func(f *farEnd) {
			f.send(ind(IndV21Preamble))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameCSI[:5]))))
			f.skip()
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameCSI[9:]))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOK, nil)))
			f.send(dat(DataV21, fld(FieldHDLCData, rev(frameDIS))))
			f.send(dat(DataV21, fld(FieldHDLCFCSOK, nil)))
			f.send(dat(DataV21, fld(FieldHDLCSigEnd, nil)))
		}, []t30.Event{up, {Kind: t30.EventFrameBad}, ev(t30.EventFrame, frameDIS), down}},
		{"tones heard: CNG and CED, repeats once", func(f *farEnd) {
			f.send(ind(IndCNG))
			f.send(ind(IndCNG))
			f.send(ind(IndNoSignal))
			f.send(ind(IndCNG))
			f.send(ind(IndCED))
			f.send(ind(IndCED))
		}, []t30.Event{{Kind: t30.EventCNG}, {Kind: t30.EventCNG}, {Kind: t30.EventCED}}},
		{"TCF ended by hdlc-sig-end, duplicate training indicators", func(f *farEnd) {
			f.send(ind(IndV17_14400LongTraining))
			f.send(ind(IndV17_14400LongTraining))
			f.send(dat(DataV17_14400, fld(FieldT4NonECMData, make([]byte, 100))))
			f.send(dat(DataV17_14400, fld(FieldT4NonECMData, make([]byte, 100))))
			f.send(dat(DataV17_14400, fld(FieldHDLCSigEnd, nil)))
			f.send(ind(IndNoSignal))
		}, []t30.Event{{Kind: t30.EventCarrierUp, Speed: t30.V17_14400}, ev(t30.EventData, make([]byte, 100)),
			ev(t30.EventData, make([]byte, 100)), down}},
		{"non-ECM data is bit-reversed, zero padding after RTC dropped", func(f *farEnd) {
			f.send(ind(IndV29_9600Training))
			// 0x80 0x00 0x08 0x80 in line order: two EOLs (11 zeros then 1).
			page := []byte{0x35, 0x00, 0x08, 0x80, 0x00}
			f.send(dat(DataV29_9600, fld(FieldT4NonECMData, rev(page))))
			f.send(dat(DataV29_9600, fld(FieldT4NonECMData, make([]byte, 300))))
			f.send(dat(DataV29_9600, fld(FieldT4NonECMSigEnd, make([]byte, 30))))
			f.send(ind(IndNoSignal))
		}, []t30.Event{{Kind: t30.EventCarrierUp, Speed: t30.V29_9600},
			ev(t30.EventData, []byte{0x35, 0x00, 0x08, 0x80, 0x00}), down}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFarEnd(t, TerminalConfig{Pacing: PacingNone})
			c.in(f)
			// The far end's first packet is a sign of it (t30.EventSignal).
			want := append([]t30.Event{{Kind: t30.EventSignal}}, c.want...)
			got := f.events(len(want))
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("events (-want +got):\n%s", d)
			}
		})
	}
}

// recvIFPs reads what the terminal sends until it has been quiet for a
// while, through a UDPTL receiver.
func (f *farEnd) recvIFPs(quiet time.Duration) []IFP {
	f.t.Helper()
	var out []IFP
	buf := make([]byte, 2048)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		n, err := f.ep.ReadPacket(ctx, buf)
		cancel()
		if err != nil {
			return out
		}
		require.NoError(f.t, f.rcv.Push(buf[:n]))
		for d, ok := f.rcv.Next(); ok; d, ok = f.rcv.Next() {
			require.Zero(f.t, d.Lost)
			p := IFP{Version: f.ver}
			require.NoError(f.t, p.Unmarshal(d.IFP))
			q := p
			q.Fields = nil
			for _, fl := range p.Fields {
				q.Fields = append(q.Fields, Field{Type: fl.Type, Data: append([]byte(nil), fl.Data...)})
			}
			out = append(out, q)
		}
	}
}

// signalShape summarises a packet sequence: runs of identical packet kinds
// with their counts, and the concatenated data of each data run.
func signalShape(ps []IFP) (shape []string, data [][]byte) {
	for _, p := range ps {
		k := p.Indicator.String()
		var d []byte
		if p.Type == TypeData {
			k = p.DataType.String() + "/"
			for i, f := range p.Fields {
				if i > 0 {
					k += "+"
				}
				k += f.Type.String()
				d = append(d, f.Data...)
			}
		}
		if n := len(shape); n > 0 && shape[n-1] == k {
			data[n-1] = append(data[n-1], d...)
			continue
		}
		shape = append(shape, k)
		data = append(data, d)
	}
	return shape, data
}

func TestTerminalSendShape(t *testing.T) {
	for _, v := range []Version{0, 3} {
		f := newFarEnd(t, TerminalConfig{Version: v, EC: ECRedundancy, Pacing: PacingNone, MaxDatagram: 100})
		long := bytes.Repeat([]byte{0xA5, 0x0F}, 100)
		require.NoError(t, f.term.SendFrames(t30.SpeedNone, [][]byte{frameCSI, frameDIS}))
		require.NoError(t, f.term.SendTCF(t30.V17_14400, 100*time.Millisecond))
		require.NoError(t, f.term.SendImage(t30.V27ter4800, long))
		require.NoError(t, f.term.SendFrames(t30.V29_9600, [][]byte{long[:70], long[:20]}))
		require.NoError(t, f.term.SendTone(t30.ToneCED))
		f.events(5) // five send-done
		ps := f.recvIFPs(100 * time.Millisecond)
		shape, data := signalShape(ps)
		// A control packet is never larger than the budget that keeps the
		// full redundancy of a 100-octet datagram: the data is chunked.
		counts := map[string]int{}
		for _, p := range ps {
			k := p.Indicator.String()
			if p.Type == TypeData {
				for _, fl := range p.Fields {
					counts[p.DataType.String()+"/"+fl.Type.String()]++
				}
				continue
			}
			counts[k]++
		}
		// A frame's last data and its fcs-OK travel in one packet; a
		// frame that fits the budget is one packet (the DIS here).
		want := []string{
			"v21-preamble", "v21/hdlc-data", "v21/hdlc-data+hdlc-fcs-OK", "v21/hdlc-sig-end", "no-signal",
			"v17-14400-long-training", "v17-14400/t4-non-ecm-data", "v17-14400/t4-non-ecm-sig-end", "no-signal",
			"v27-4800-training", "v27-4800/t4-non-ecm-data", "v27-4800/t4-non-ecm-sig-end", "no-signal",
			"v29-9600-training", "v29-9600/hdlc-data", "v29-9600/hdlc-data+hdlc-fcs-OK",
			"v29-9600/hdlc-data", "v29-9600/hdlc-data+hdlc-fcs-OK", "v29-9600/hdlc-sig-end", "no-signal",
			"ced", "no-signal",
		}
		if d := cmp.Diff(want, shape); d != "" {
			t.Fatalf("v%d: signal shape (-want +got):\n%s", v, d)
		}
		require.Equal(t, append(rev(frameCSI), rev(frameDIS)...), append(data[1], data[2]...))
		require.Equal(t, make([]byte, 14400/8/10), data[6])
		require.Equal(t, rev(long), data[10])
		require.Equal(t, append(rev(long[:70]), rev(long[:20])...), bytes.Join(data[14:18], nil))
		// Indicators and ends of signals three times each; fcs-OK once per frame.
		require.Equal(t, 3, counts["v21-preamble"])
		require.Equal(t, 3, counts["v21/hdlc-sig-end"])
		require.Equal(t, 3*5, counts["no-signal"])
		require.Equal(t, 2, counts["v21/hdlc-fcs-OK"])
		require.Equal(t, 3, counts["v17-14400/t4-non-ecm-sig-end"])
		require.Greater(t, counts["v27-4800/t4-non-ecm-data"], 3, "image data is chunked")
		for _, p := range ps {
			b, _ := p.MarshalBinary()
			require.LessOrEqual(t, len(b), 100)
		}
	}
}

// TestTerminalPacing: in real-time mode a signal takes the time a modem
// would need (indicator, training or preamble, data at the bit rate). It
// runs in a synctest bubble, so the times are exact to within the far
// end's 5 ms polls (20 ms allowed).
func TestTerminalPacing(t *testing.T) {
	synctest.Test(t, testTerminalPacing)
}

func testTerminalPacing(t *testing.T) {
	clk := clock.Real() // virtual in the bubble
	f := newFarEnd(t, TerminalConfig{EC: ECRedundancy, Clock: clk})
	image := bytes.Repeat([]byte{0x5A}, 1200) // 1 s at 9600 bit/s
	cases := []struct {
		send func() error
		want time.Duration
	}{
		{func() error { return f.term.SendFrames(t30.SpeedNone, [][]byte{frameDIS}) },
			time.Second + octetTime(len(frameDIS)+3, 300)},
		{func() error { return f.term.SendImage(t30.V29_9600, image) },
			t30.SignalGap + 234*time.Millisecond + t30.ECMFlags + time.Second},
	}
	for i, c := range cases {
		start := clk.Now()
		require.NoError(t, c.send())
		var arrivals []time.Time
		buf := make([]byte, 2048)
		done := false
		for !done {
			select {
			case e := <-f.term.Events():
				require.Equal(t, t30.EventSendDone, e.Kind)
				done = true
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			if _, err := f.ep.ReadPacket(ctx, buf); err == nil {
				arrivals = append(arrivals, clk.Now())
			}
			cancel()
		}
		took := clk.Now().Sub(start)
		t.Logf("signal %d: %v (want %v), %d packets", i, took, c.want, len(arrivals))
		require.InDelta(t, c.want.Seconds(), took.Seconds(), 0.02, "signal %d duration", i)
		// Data packets are spread over the data time, not sent in a burst.
		require.Greater(t, arrivals[len(arrivals)-1].Sub(arrivals[0]).Seconds(), 0.6*c.want.Seconds())
	}
	st := f.term.Stats()
	require.Positive(t, st.Paced)
	t.Logf("pacing: %d packets, max late %v, mean %v", st.Paced, st.PacingMax, st.PacingTotal/time.Duration(st.Paced))
}
