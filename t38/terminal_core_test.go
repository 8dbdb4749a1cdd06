package t38

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
)

// TestCoreGapJudgesFrames drives a core directly: V.21 signals whose
// UDPTL packets are lost in chosen places. A frame is bad when a packet
// inside it was lost or its start was; a lost indicator repeat or a whole
// lost frame leaves the frames that did arrive good.
func TestCoreGapJudgesFrames(t *testing.T) {
	ind := func(i Indicator) IFP { return IFP{Type: TypeIndicator, Indicator: i} }
	data := func(fs ...Field) IFP { return IFP{Type: TypeData, DataType: DataV21, Fields: fs} }
	hd := func(b []byte) Field { return Field{Type: FieldHDLCData, Data: rev(b)} }
	ok := Field{Type: FieldHDLCFCSOK}
	end := Field{Type: FieldHDLCSigEnd}
	cases := []struct {
		name string
		pkts []IFP
		lose map[int]bool
		want []t30.EventKind // frame events, in order
	}{
		{"lost-preamble-repeat", []IFP{ind(IndV21Preamble), ind(IndV21Preamble), data(hd(frameCSI), ok), data(hd(frameDIS), ok), data(end), ind(IndNoSignal)},
			map[int]bool{1: true}, []t30.EventKind{t30.EventFrame, t30.EventFrame}},
		{"lost-whole-frame", []IFP{ind(IndV21Preamble), data(hd(frameCSI), ok), data(hd(frameDIS), ok), data(end), ind(IndNoSignal)},
			map[int]bool{1: true}, []t30.EventKind{t30.EventFrame}},
		{"lost-middle-chunk", []IFP{ind(IndV21Preamble), data(hd(frameCSI[:4])), data(hd(frameCSI[4:8])), data(hd(frameCSI[8:]), ok), data(hd(frameDIS), ok), data(end), ind(IndNoSignal)},
			map[int]bool{2: true}, []t30.EventKind{t30.EventFrameBad, t30.EventFrame}},
		{"lost-first-chunk", []IFP{ind(IndV21Preamble), data(hd(frameCSI[:4])), data(hd(frameCSI[4:8])), data(hd(frameCSI[8:]), ok), data(hd(frameDIS), ok), data(end), ind(IndNoSignal)},
			map[int]bool{1: true}, []t30.EventKind{t30.EventFrameBad, t30.EventFrame}},
		{"lost-data-before-fcs", []IFP{ind(IndV21Preamble), data(hd(frameCSI)), data(ok), data(hd(frameDIS), ok), data(end), ind(IndNoSignal)},
			map[int]bool{1: true}, []t30.EventKind{t30.EventFrameBad, t30.EventFrame}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := TerminalConfig{Pacing: PacingNone}
			require.NoError(t, cfg.fill())
			co, err := newCore(&cfg)
			require.NoError(t, err)
			snd, err := NewSender(SenderConfig{EC: ECNone})
			require.NoError(t, err)
			now := time.Unix(1000, 0)
			for i, p := range c.pkts {
				b, err := p.MarshalBinary()
				require.NoError(t, err)
				d, err := snd.Append(nil, b)
				require.NoError(t, err)
				if !c.lose[i] {
					co.receive(now, d)
				}
				now = now.Add(10 * time.Millisecond)
			}
			co.step(now.Add(cfg.QuietFlush)) // the quiet flush declares the gap
			var got []t30.EventKind
			for _, ev := range co.events {
				if ev.Kind == t30.EventFrame || ev.Kind == t30.EventFrameBad {
					got = append(got, ev.Kind)
				}
			}
			require.Equal(t, c.want, got)
		})
	}
}

// TestLogNames: the terminal's debug log names indicators, data types and
// field types (as a JSON handler writes them), never their numeric codes.
func TestLogNames(t *testing.T) {
	var buf bytes.Buffer
	lg := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := runSim(t, simSpec{pages: 1, height: 100, ecm: true, term: TerminalConfig{EC: ECNone, Logger: lg},
		loss: [2]simLoss{{P: 0.05, Seed: 3}, {P: 0.05, Seed: 4}}})
	require.Equal(t, t30.ResultOK, o.tx)
	out := buf.String()
	for _, want := range []string{`"indicator":"v21-preamble"`, `"indicator":"no-signal"`, `"tone":"cng"`,
		`"data":"v21"`, `"field":"hdlc-sig-end"`, `"frames":`, `"tcf":"v17-14400"`} {
		require.Contains(t, out, want)
	}
	require.NotRegexp(t, `"(indicator|data|field|tone|tcf|image)":[0-9]`, out)
}
