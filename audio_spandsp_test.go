package faxkit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/audiopeer"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// spandspCall is one audio call between faxkit (faxkit.AudioMedia on a
// scaled clock) and libspandsp's fax_state_t (internal/audiopeer) over
// G.711 RTP on 127.0.0.1, through an impairing relay.
type spandspCall struct {
	weSend bool
	ecm    bool
	pcma   bool
	modems string // the peer's: "v17", "v29" (V.29 and V.27ter), "v27"
	pages  int
	rows   int // crop the letter pages (0: whole)
	// toUs and toPeer impair what faxkit and spandsp hear.
	toUs, toPeer audiopeer.Impairment
	depth        int           // both jitter buffers; 0: 25 (500 ms: the test machine is loaded)
	speedup      float64       // 0: audioSpeedup, at most 2 (spandsp's receivers hear a late packet as silence)
	fillIn       bool          // the peer hands lost blocks to fax_rx_fillin
	ptime        time.Duration // both ends' packet time; 0: 20 ms
	ansam        bool          // we answer with ANSam/PR
	seed         uint64        // added to the relay's seed (the test's name length)
}

type spandspOutcome struct {
	rep      faxkit.Report
	peer     audiopeer.Result
	toUs     audiopeer.RelayStats
	toPeer   audiopeer.RelayStats
	sent     []*t4.Bitmap
	received []*t4.Bitmap
	rejected []t30.Record // pages we answered RTN
	err      error
}

// runSpandspCall holds the call and returns both ends' accounts; it fails
// t only when the harness itself fails.
func runSpandspCall(t testing.TB, c spandspCall) spandspOutcome {
	t.Helper()
	exe := audiopeer.Build(t)
	if c.pages == 0 {
		c.pages = 1
	}
	if c.depth == 0 {
		c.depth = 25
	}
	if c.speedup == 0 {
		c.speedup = min(audioSpeedup, 2)
	}
	ps, err := letters()
	require.NoError(t, err)
	ps = ps[:c.pages]
	if c.rows > 0 {
		ps = cropped(ps, c.rows)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "fax.tif")
	if !c.weSend {
		f, err := os.Create(file)
		require.NoError(t, err)
		w, err := tiff.NewWriter(f, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
		require.NoError(t, err)
		for _, p := range ps {
			require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: t30.ResFine}))
		}
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
	}
	clk := newScaledClock(c.speedup)
	relay := audiopeer.NewRelay(t, audiopeer.RelayConfig{AtoB: c.toPeer, BtoA: c.toUs, PCMA: c.pcma,
		Speedup: c.speedup, Seed: uint64(len(t.Name())) + c.seed})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(5*time.Minute)/c.speedup)+30*time.Second)
	defer cancel()
	// The peer's buffer is in packets: the same delay.
	peerDepth := c.depth
	if c.ptime != 0 {
		peerDepth = min(32, int(time.Duration(c.depth)*20*time.Millisecond/c.ptime))
	}
	peer := audiopeer.Start(ctx, t, exe, audiopeer.Config{Send: !c.weSend, File: file, NoECM: !c.ecm, PTime: c.ptime,
		Modems: c.modems, PCMA: c.pcma, Depth: peerDepth, FillIn: c.fillIn, Remote: relay.AddrB().String(),
		Speedup: c.speedup, Timeout: 4 * time.Minute, Verbose: os.Getenv("FAX_TRACE") != ""})
	conn, _ := udpPair(t)
	cfg := faxkit.CallConfig{Fax: faxkit.FaxOptions{DisableECM: !c.ecm}, Clock: clk}
	sink := &memSink{}
	if c.weSend {
		cfg.Document = &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}
	} else {
		cfg.Sink = sink
	}
	var mu sync.Mutex
	var rejected []t30.Record
	trace := os.Getenv("FAX_TRACE") != ""
	cfg.OnEvent = func(e faxkit.Event) {
		if e.Heard != nil || e.Media != "" {
			return
		}
		if trace {
			t.Logf("faxkit %s %v", e.Record.Time.Format("04:05.000"), e.Record)
		}
		if e.Record.Kind == t30.RecordPageRejected {
			mu.Lock()
			rejected = append(rejected, e.Record)
			mu.Unlock()
		}
	}
	call, err := faxkit.NewCall(cfg)
	require.NoError(t, err)
	codec := faxkit.PCMU
	if c.pcma {
		codec = faxkit.PCMA
	}
	require.NoError(t, call.Start(ctx, faxkit.AudioMedia(conn, relay.AddrA(), &faxkit.AudioOptions{Codec: codec, JitterDepth: c.depth, PTime: c.ptime, ANSam: c.ansam})))
	var o spandspOutcome
	o.rep, o.err = call.Wait()
	mu.Lock()
	o.rejected = rejected
	mu.Unlock()
	o.peer, err = peer.Wait()
	require.NoError(t, err)
	relay.Close()
	o.toPeer, o.toUs = relay.Stats()
	o.sent = ps
	if c.weSend {
		if st, err := os.Stat(file); err == nil && st.Size() > 0 {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			r, err := tiff.NewReader(f, st.Size(), nil)
			require.NoError(t, err)
			for p, err := range r.Pages() {
				require.NoError(t, err)
				bm, err := p.Bitmap()
				require.NoError(t, err)
				o.received = append(o.received, bm)
			}
		}
	} else {
		o.received = sink.pages
	}
	return o
}

func (o spandspOutcome) log(t testing.TB) {
	t.Helper()
	t.Logf("faxkit: %v (err %v)", o.rep, o.err)
	for _, r := range o.rejected {
		t.Logf("faxkit %v", r)
	}
	for _, m := range o.rep.Media {
		if m.Audio != nil {
			t.Logf("faxkit audio: %+v", *m.Audio)
		}
	}
	for _, p := range o.rep.PageStats {
		sig := ""
		if p.Signal != nil {
			sig = fmt.Sprintf(" level %.1f dBm0 SNR %.1f dB carrier %+.2f Hz clock %+.1f ppm (RTP) timing %+.1f ppm (%v)", p.Signal.Level, p.Signal.SNR,
				p.Signal.CarrierOffset, p.Signal.ClockOffset, p.Signal.TimingOffset, p.Signal.TimingKnown)
		}
		t.Logf("faxkit page %d: %s %d bit/s rows %d bad %d uncertain %v PPRs %d resent %d repeated %d%s", p.Number, p.Modem, p.BitRate,
			p.Rows, p.BadRows, p.RowsUncertain, p.PPRs, p.FramesResent, p.FramesRepeated, sig)
	}
	t.Logf("spandsp: %+v", o.peer)
	t.Logf("relay to us %+v, to spandsp %+v", o.toUs, o.toPeer)
}

// check asserts that the call succeeded at both ends and every page
// arrived pixel-exact (without ECM: only rows reported bad may differ).
func (o spandspOutcome) check(t *testing.T, c spandspCall) {
	t.Helper()
	c.pages = max(c.pages, 1)
	require.NoError(t, o.err, "faxkit's call")
	require.True(t, o.peer.OK, "spandsp: %s", o.peer.Result)
	require.Equal(t, c.pages, o.rep.Pages)
	require.Equal(t, c.pages, o.peer.Pages)
	require.Len(t, o.received, len(o.sent))
	for i, want := range o.sent {
		if !c.ecm {
			if c.weSend {
				// spandsp's receiver says how many rows were bad but not
				// whether its count is certain; it plays a lost packet as
				// silence (none is lost toward it but by the machine's
				// load).
				samePageLossy(t, want, o.received[i], o.peer.BadRows, true)
			} else {
				samePageLossy(t, want, o.received[i], o.rep.PageStats[i].BadRows, o.rep.PageStats[i].RowsUncertain)
			}
			continue
		}
		require.True(t, want.Equal(o.received[i]), "page %d differs", i+1)
	}
	require.Equal(t, c.ecm, o.rep.ECM)
	require.Equal(t, c.ecm, o.peer.ECM)
}

// wantRate is the rate a call with the peer's modems settles at.
func wantRate(modems string) (string, int) {
	switch modems {
	case "v27":
		return "V.27ter", 4800
	case "v29":
		return "V.29", 9600
	}
	return "V.17", 14400
}

// TestAudioSpandsp holds audio calls with libspandsp's fax terminal over
// G.711 RTP on 127.0.0.1: both directions, ECM on and off, PCMU and PCMA,
// V.17, V.29 and V.27ter (capped at the peer), one page and two, a path
// impaired toward faxkit (0.5 % loss and 20 ms jitter, ECM and not;
// spandsp 10 dB down under −50 dBm0 of noise; both at once under −45
// dBm0; 10 dB down under −40 dBm0, issue 17's goal, where the call steps
// down on FTT), a ±50 ppm sample-clock offset, one missing packet in the middle
// of a page (ECM and not), packet times of 10, 30 and 40 ms, and ANSam
// as our answer tone. This is the CI set: sixteen calls of 25 to 110 s of
// line time, all at once on a clock sped up twice (about 60 s). It skips
// under the race detector (skipRealTime). FAXKIT_AUDIO_FULL=1 adds the
// whole matrix (TestAudioSpandspMatrix).
func TestAudioSpandsp(t *testing.T) {
	skipRealTime(t)
	t.Parallel()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Loss with jitter, a weak noisy signal, and both at once: spandsp
	// 10 dB down under −45 dBm0 of noise (about 21 dB SNR at V.29 9600)
	// with 0.5 % loss and 20 ms jitter, two pages long enough for the
	// loss to cost PPR rounds. That call used to fail 1 run in 3: the
	// noise kept our image receiver's carrier detector up after
	// spandsp's ECM burst, the V.21 receiver was ignored while it was,
	// and spandsp's PPS went unheard until a dip of the noise let the
	// carrier drop (each PPS 6 s after its RCP instead of 1.3 s); after
	// three unheard PPSs spandsp gave up. The image reception now ends at
	// the transmitter's closing ones (modem/fax Core).
	// The loss spares the first 300 ms of each signal: a packet lost in
	// an image modem's training (V.29's is 253 ms) costs the training,
	// which no receiver here rides through (modem/fax doc, Not yet).
	lossy := audiopeer.Impairment{Loss: 0.005, Jitter: 20 * time.Millisecond, Spare: 300 * time.Millisecond}
	weak := audiopeer.Impairment{Gain: -10, Noise: -50}
	for _, c := range []struct {
		name string
		call spandspCall
	}{
		{"we-send/ECM/PCMA/V17/2pages", spandspCall{weSend: true, ecm: true, pcma: true, modems: "v17", pages: 2, rows: 500}},
		{"we-send/nonECM/PCMU/V27ter", spandspCall{weSend: true, modems: "v27", rows: 500}},
		{"they-send/nonECM/PCMA/V29", spandspCall{pcma: true, modems: "v29", rows: 500}},
		{"they-send/ECM/PCMU/V29/loss+jitter", spandspCall{ecm: true, modems: "v29", rows: 500, toUs: lossy}},
		{"they-send/ECM/PCMA/V29/weak+noise", spandspCall{ecm: true, pcma: true, modems: "v29", rows: 500, toUs: weak}},
		{"they-send/ECM/PCMU/V29/loss+weak+noise45", spandspCall{ecm: true, modems: "v29", pages: 2, rows: 1200,
			toUs: audiopeer.Impairment{Loss: 0.005, Jitter: 20 * time.Millisecond, Gain: -10, Noise: -45}}},
		// Issue 17's noise goal: spandsp 10 dB down (about −24 dBm0) under
		// −40 dBm0 of white noise, 16 dB SNR: V.17 14400 cannot decode
		// there, so the call steps down on FTT (a failed training is
		// answered FTT) and completes at a lower rate.
		{"they-send/ECM/PCMU/V17/weak+noise40", spandspCall{ecm: true, modems: "v17", rows: 500,
			toUs: audiopeer.Impairment{Gain: -10, Noise: -40}}},
		{"they-send/nonECM/PCMA/V29/weak+noise40", spandspCall{pcma: true, modems: "v29", rows: 500,
			toUs: audiopeer.Impairment{Gain: -10, Noise: -40}}},
		{"they-send/nonECM/PCMU/V17/one-packet-lost", spandspCall{modems: "v17", rows: 1200,
			toUs: audiopeer.Impairment{DropOnce: 4 * time.Second}}},
		{"they-send/nonECM/PCMA/V29/loss+jitter", spandspCall{pcma: true, modems: "v29", rows: 1200, toUs: lossy}},
		{"they-send/ECM/PCMA/V29/ANSam", spandspCall{ecm: true, pcma: true, modems: "v29", rows: 500, ansam: true}},
		{"they-send/ECM/PCMU/V17/ptime10", spandspCall{ecm: true, modems: "v17", rows: 500, ptime: 10 * time.Millisecond}},
		{"we-send/nonECM/PCMA/V29/ptime30", spandspCall{weSend: true, pcma: true, modems: "v29", rows: 500, ptime: 30 * time.Millisecond}},
		{"they-send/nonECM/PCMU/V27ter/ptime40", spandspCall{modems: "v27", rows: 500, ptime: 40 * time.Millisecond}},
		{"they-send/ECM/PCMU/V17/skew+50ppm", spandspCall{ecm: true, modems: "v17", rows: 500,
			toUs: audiopeer.Impairment{PPM: 50}, toPeer: audiopeer.Impairment{PPM: -50}}},
	} {
		concurrently(&wg, t, c.name, func(t *testing.T) {
			o := runSpandspCall(t, c.call)
			o.log(t)
			o.check(t, c.call)
			modem, rate := wantRate(c.call.modems)
			if c.call.toUs.Noise == 0 {
				require.Equal(t, rate, o.rep.BitRate)
				require.Equal(t, modem, o.rep.PageStats[0].Modem)
			}
			if !c.call.weSend {
				for _, p := range o.rep.PageStats {
					if ppm := c.call.toUs.PPM; ppm != 0 && p.Signal != nil {
						// Our clock runs ppm fast against spandsp's: its
						// symbols come ppm slow, as our receiver measures.
						require.True(t, p.Signal.TimingKnown)
						require.InDelta(t, -ppm, p.Signal.TimingOffset, 15)
					}
					// Each PPR of ours was answered by a burst of the
					// frames asked for.
					require.GreaterOrEqual(t, p.FramesRepeated, p.PPRs)
					require.NotNil(t, p.Signal)
					require.InDelta(t, -14+c.call.toUs.Gain, p.Signal.Level, 2, "spandsp sends at about −14 dBm0")
				}
			}
			if c.call.toUs.Loss > 0 {
				require.Positive(t, o.toUs.Lost, "the relay lost nothing: the test tests nothing")
			}
			if p := c.call.ptime; p != 0 {
				// Our packets were of the packet time, their timestamps
				// one packet's samples apart.
				m := o.rep.Media[0]
				size := uint64(p / (time.Second / 8000))
				require.Equal(t, (12+size)*m.Network.PacketsOut, m.Network.BytesOut)
				require.Equal(t, (12+size)*m.Network.PacketsIn, m.Network.BytesIn)
				require.InDelta(t, float64(m.To-m.From)/float64(p), float64(m.Network.PacketsOut), 0.05*float64(m.Network.PacketsOut))
			}
			if c.call.toUs.DropOnce > 0 {
				require.True(t, o.toUs.DroppedOnce, "no page long enough to drop a packet in")
				if !c.call.ecm {
					// The packet was lost 4 s into the page burst (V.17's
					// long training and TCF are 2.9 s): its rows are
					// marked bad, and their count is a guess.
					p := o.rep.PageStats[0]
					require.Positive(t, p.BadRows)
					require.True(t, p.RowsUncertain)
				}
			}
		})
	}
	// One missing 20 ms packet in the middle of an ECM page at V.17: our
	// receiver skips the block and keeps its carrier, so only the frames
	// of that block are asked for again (spandsp's own receiver, given
	// the block as silence, drops the carrier and loses the rest of the
	// ECM block).
	concurrently(&wg, t, "they-send/ECM/V17/one-packet-lost", func(t *testing.T) {
		c := spandspCall{ecm: true, modems: "v17", rows: 1200, toUs: audiopeer.Impairment{DropOnce: 3 * time.Second}}
		o := runSpandspCall(t, c)
		o.log(t)
		o.check(t, c)
		require.True(t, o.toUs.DroppedOnce, "no page long enough to drop a packet in")
		m := o.rep.Media[0].Audio
		require.Zero(t, m.TrainingFailed, "our receiver lost its carrier and tried to retrain")
		if m.Missing+m.Late == 1 {
			// Nothing but the dropped packet was lost: one PPR at most,
			// for the frames of that block (a lost carrier would lose
			// the rest of the ECM block).
			require.LessOrEqual(t, o.rep.PageStats[0].PPRs, 1)
		}
	})
}

// TestAudioSpandspMatrix is the whole interop matrix (FAXKIT_AUDIO_FULL=1):
// both directions × ECM on and off × V.17, V.29, V.27ter, alternating
// PCMU/PCMA and one or three pages.
func TestAudioSpandspMatrix(t *testing.T) {
	if os.Getenv("FAXKIT_AUDIO_FULL") == "" {
		t.Skip("set FAXKIT_AUDIO_FULL=1 for the whole audio interop matrix (long)")
	}
	i := 0
	for _, weSend := range []bool{true, false} {
		for _, ecm := range []bool{true, false} {
			for _, m := range []string{"v17", "v29", "v27"} {
				i++
				c := spandspCall{weSend: weSend, ecm: ecm, modems: m, pcma: i%2 == 0, pages: 1 + 2*(i%2), rows: 500}
				name := strings.Join([]string{map[bool]string{true: "we-send", false: "they-send"}[weSend],
					map[bool]string{true: "ECM", false: "nonECM"}[ecm], m, map[bool]string{true: "PCMA", false: "PCMU"}[c.pcma],
					fmt.Sprintf("%dpages", c.pages)}, "/")
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					o := runSpandspCall(t, c)
					o.log(t)
					o.check(t, c)
					_, rate := wantRate(m)
					require.Equal(t, rate, o.rep.BitRate)
				})
			}
		}
	}
}

// TestAudioSpandspLossSweep (FAXKIT_AUDIO_SWEEP=N) holds the CI set's
// non-ECM call under loss N times with other loss patterns (relay seeds
// from FAXKIT_AUDIO_SWEEP_FROM, default 0), twelve calls at once, at
// FAXKIT_AUDIO_SWEEP_LOSS (default 0.015, three times the CI set's). A
// completed call must pass the CI set's checks. A call may fail (its
// control frames lost past the retries, its page answered RTN, after which
// libspandsp disconnects): faxkit must then report no page it did not
// keep. The log counts the outcomes, the pages kept whose RTC was lost
// (EndLost) and the longest run of bad rows.
func TestAudioSpandspLossSweep(t *testing.T) {
	skipRealTime(t)
	n, _ := strconv.Atoi(os.Getenv("FAXKIT_AUDIO_SWEEP"))
	if n <= 0 {
		t.Skip("set FAXKIT_AUDIO_SWEEP=N for N lossy non-ECM calls with spandsp (12 at a time)")
	}
	loss := 0.015
	if v := os.Getenv("FAXKIT_AUDIO_SWEEP_LOSS"); v != "" {
		var err error
		loss, err = strconv.ParseFloat(v, 64)
		require.NoError(t, err)
	}
	first, _ := strconv.Atoi(os.Getenv("FAXKIT_AUDIO_SWEEP_FROM"))
	var mu sync.Mutex
	outcomes := map[string]int{}
	endLost, longest := 0, 0
	for from := first; from < first+n; from += 12 {
		t.Run(fmt.Sprintf("seeds%d", from), func(t *testing.T) {
			var wg sync.WaitGroup
			defer wg.Wait()
			for i := from; i < min(first+n, from+12); i++ {
				c := spandspCall{pcma: true, modems: "v29", rows: 1200, seed: uint64(i),
					toUs: audiopeer.Impairment{Loss: loss, Jitter: 20 * time.Millisecond, Spare: 300 * time.Millisecond}}
				concurrently(&wg, t, fmt.Sprint(i), func(t *testing.T) {
					o := runSpandspCall(t, c)
					o.log(t)
					outcome := o.rep.Result.String()
					if o.err != nil {
						for _, r := range o.rejected {
							switch q := r.Quality; {
							case q.Truncated:
								outcome += " after RTN (end lost)"
							case q.LongestBadRun > 30:
								outcome += " after RTN (bad run)"
							default:
								outcome += " after RTN"
							}
						}
						require.Equal(t, len(o.received), o.rep.Pages, "pages kept")
					} else {
						o.check(t, c)
					}
					mu.Lock()
					defer mu.Unlock()
					outcomes[outcome]++
					for _, p := range o.rep.PageStats {
						if p.EndLost {
							endLost++
						}
						longest = max(longest, p.LongestBadRun)
					}
				})
			}
		})
	}
	t.Logf("%d calls at %.1f %% loss: %v; %d pages kept without their RTC; longest run of bad rows %d",
		n, 100*loss, outcomes, endLost, longest)
}
