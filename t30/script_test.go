package t30_test

import (
	"math/rand"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t30/t30test"
	"github.com/faxkit/faxkit/t4"
)

// Scripted conversations: the test plays the far terminal and the clock,
// step by step, as T.30's flow diagrams (Figure 5-2) read.

// answerer returns an answering receiver that has sent CED and its DIS
// and now waits for a command.
func answerer(t *testing.T) *t30test.Conversation {
	c := t30test.New(t, t30.Config{})
	c.WantTone("answers with CED", t30.ToneCED)
	c.Want("offers its capabilities", t30.FCFDIS)
	return c
}

// TestAnswererHearsCaller (issue 16): an answering terminal started before
// its caller sends its first DIS into the void. When it hears the caller's
// CNG while waiting for a command it repeats DIS EarlyDISDelay later, not
// after T4, unless the caller's answer begins meanwhile.
func TestAnswererHearsCaller(t *testing.T) {
	t.Run("CNG", func(t *testing.T) {
		c := answerer(t)
		c.Advance(time.Second)
		c.Hear(t30.EventCNG)
		c.Advance(t30.EarlyDISDelay - time.Millisecond)
		c.WantQuiet("gives the caller time to answer a DIS it may have heard")
		c.Advance(time.Millisecond)
		c.Want("repeats DIS early on hearing CNG", t30.FCFDIS)
		if c.Elapsed() != time.Second+t30.EarlyDISDelay || c.S.Stats().EarlyDIS != 1 {
			t.Fatalf("DIS repeated at %v, early %d", c.Elapsed(), c.S.Stats().EarlyDIS)
		}
		c.Recv(t30test.DCS(t30.Mode{Speed: t30.V29_9600, Resolution: t30.ResFine, Width: t30.WidthA4}))
		c.RecvTCF(t30.V29_9600, t30.TCFDuration)
		c.Want("then confirms the training as usual", t30.FCFCFR)
	})
	t.Run("not on a first packet alone", func(t *testing.T) {
		// A T.38 caller sends no-signal as it starts, heard our DIS or
		// not; libspandsp ends a call whose DCS meets a second DIS.
		c := answerer(t)
		c.Hear(t30.EventSignal)
		c.WantQuiet("waits: the caller may be answering our DIS")
		c.Hear(t30.EventCNG)
		c.Advance(t30.EarlyDISDelay)
		c.Want("repeats DIS once the caller's CNG says it missed it", t30.FCFDIS)
	})
	t.Run("not over the answer to a DIS the CNG crossed", func(t *testing.T) {
		// A T.38 caller sends no-signal and CNG as it starts, before it
		// reads the DIS already waiting for it, and answers that DIS
		// right after (seen with libspandsp on a loaded machine).
		c := answerer(t)
		c.Hear(t30.EventSignal)
		c.Hear(t30.EventCNG)
		c.Advance(t30.EarlyDISDelay / 2)
		c.Handle(t30.Event{Kind: t30.EventCarrierUp}) // the caller's V.21 flags begin
		c.Advance(t30.EarlyDISDelay)
		c.WantQuiet("waits for the command that has begun")
		c.Recv(t30test.DCS(t30.Mode{Speed: t30.V29_9600, Resolution: t30.ResFine, Width: t30.WidthA4}))
		c.RecvTCF(t30.V29_9600, t30.TCFDuration)
		c.Want("and confirms the training", t30.FCFCFR)
		if n := c.S.Stats().EarlyDIS; n != 0 {
			t.Fatalf("EarlyDIS %d", n)
		}
	})
	t.Run("not over the caller's answer", func(t *testing.T) {
		c := answerer(t)
		c.Handle(t30.Event{Kind: t30.EventCarrierUp}) // the caller's V.21 flags begin
		c.Hear(t30.EventCNG)
		c.WantQuiet("does not talk over a command that has begun")
	})
	t.Run("not on a signal once the caller has spoken", func(t *testing.T) {
		c := answerer(t)
		c.RecvDamaged() // the caller's DCS, lost
		c.Hear(t30.EventSignal)
		c.WantQuiet("waits for T4: the caller heard our DIS")
		c.Advance(t30test.T4Auto)
		c.Want("repeats DIS after T4", t30.FCFDIS)
	})
	t.Run("not when the DIS went out to a caller already heard", func(t *testing.T) {
		// The usual order: the caller's CNG is heard, CED and DIS answer
		// it. A later CNG burst (or a repeated CNG indicator) crossed our
		// DIS on the way; a second DIS now would land on the caller's DCS.
		c := t30test.New(t, t30.Config{})
		c.Hear(t30.EventCNG)
		c.WantTone("answers with CED", t30.ToneCED)
		c.Want("offers its capabilities", t30.FCFDIS)
		c.Advance(500 * time.Millisecond)
		c.Hear(t30.EventCNG)
		c.WantQuiet("waits for the caller's command")
		c.Advance(t30test.T4Auto)
		c.Want("repeats DIS after T4", t30.FCFDIS)
	})
	t.Run("once: after the early repeat, T4 rules again", func(t *testing.T) {
		c := answerer(t)
		c.Hear(t30.EventCNG)
		c.Advance(t30.EarlyDISDelay)
		c.Want("repeats DIS early on hearing CNG", t30.FCFDIS)
		c.Hear(t30.EventCNG)
		c.WantQuiet("a second CNG crossed that DIS")
	})
	t.Run("without the caller, after T4", func(t *testing.T) {
		c := answerer(t)
		c.Advance(t30test.T4Auto - time.Millisecond)
		c.WantQuiet("waits T4")
		c.Advance(time.Millisecond)
		c.Want("repeats DIS after T4", t30.FCFDIS)
	})
}

// caller returns a calling transmitter of doc that has sent CNG, heard
// caps's DIS, and sent its DCS and TCF; it waits for CFR.
func caller(t *testing.T, doc t30.Document, caps t30.Capabilities) *t30test.Conversation {
	c := t30test.New(t, t30.Config{Calling: true, Transmit: true, Document: doc})
	c.WantTone("calls with CNG", t30.ToneCNG)
	c.Recv(t30test.DIS(caps))
	c.Want("commands a mode", t30.FCFDCS)
	c.WantAction("trains", t30.ActionSendTCF)
	return c
}

func page(rows int, seed int64) *t30.BitmapDocument {
	b := t4.NewBitmap(1728, rows)
	rng := rand.New(rand.NewSource(seed))
	for i := range b.Pix {
		if rng.Intn(4) == 0 {
			b.Pix[i] = byte(rng.Intn(256))
		}
	}
	return &t30.BitmapDocument{Pages: []*t4.Bitmap{b}, Resolution: t30.ResFine, Width: t30.WidthA4}
}

// TestDamagedResponse (issue 16): a response that arrives damaged (bad FCS)
// is not silence. The command is repeated as before, after T4, but such
// repeats do not use up the tries meant for a dead line: the fourth
// damaged answer in a row still gets a repetition, and the good one that
// follows carries on the call.
func TestDamagedResponse(t *testing.T) {
	caps := t30.DefaultCapabilities()
	caps.ECM = false
	c := caller(t, page(10, 1), caps)
	for i := 0; i < 4; i++ {
		c.RecvDamaged() // CFR with a bad FCS
		c.Advance(t30test.T4)
		c.Want("repeats DCS after a damaged answer", t30.FCFDCS)
		c.WantAction("and trains again", t30.ActionSendTCF)
	}
	c.Recv(t30test.Frame(t30.FCFCFR))
	c.WantAction("sends the page on CFR", t30.ActionSendImage)
	if st := c.S.Stats(); st.DamagedResponses != 4 {
		t.Fatalf("damaged responses %d, want 4", st.DamagedResponses)
	}
}

// TestSilentResponse: silence is a dead line: the command is sent
// MaxTries (3) times in all, then the call ends with DCN.
func TestSilentResponse(t *testing.T) {
	caps := t30.DefaultCapabilities()
	caps.ECM = false
	c := caller(t, page(10, 1), caps)
	for i := 0; i < 2; i++ {
		c.Advance(t30test.T4)
		c.Want("repeats DCS after T4", t30.FCFDCS)
		c.WantAction("and trains again", t30.ActionSendTCF)
	}
	c.Advance(t30test.T4)
	c.WantEnd("gives up after three tries", t30.ResultNoResponse)
}

// TestDamagedResponsesBounded: a far end that only ever answers garbage
// cannot hold the call: MaxDamagedTries (3 × MaxTries) repeats, then DCN.
func TestDamagedResponsesBounded(t *testing.T) {
	caps := t30.DefaultCapabilities()
	caps.ECM = false
	c := caller(t, page(10, 1), caps)
	for i := 0; i < 9; i++ {
		c.RecvDamaged()
		c.Advance(t30test.T4)
		c.Want("repeats DCS", t30.FCFDCS)
		c.WantAction("and trains", t30.ActionSendTCF)
	}
	c.RecvDamaged()
	c.Advance(t30test.T4)
	c.WantEnd("gives up after nine damaged answers", t30.ResultNoResponse)
}

// ecmCaller returns a calling ECM transmitter that has been told CFR and
// sent the first partial page of doc; it returns the number of frames.
func ecmCaller(t *testing.T, doc t30.Document) (*t30test.Conversation, int) {
	caps := t30.DefaultCapabilities()
	c := caller(t, doc, caps)
	c.Recv(t30test.Frame(t30.FCFCFR))
	a := c.WantAction("sends the partial page", t30.ActionSendFrames)
	n := len(a.Frames) - 3 // FCD ... RCP RCP RCP
	c.Want("asks for its confirmation", t30.FCFPPS)
	return c, n
}

// ppr answers a PPS with PPR naming the first bad frames of the block.
func ppr(c *t30test.Conversation, bad int) {
	var m t30.FrameMap
	for i := 0; i < bad; i++ {
		m.Set(i)
	}
	c.Recv(m.Frame(false))
}

// TestECMConverging (issue 16): the fourth PPR of a block asks for fewer
// frames than the first (4, 3, 2, 1): the exchange is converging, so the
// transmitter continues to correct (CTC) at the same speed rather than
// falling back, and the block completes.
func TestECMConverging(t *testing.T) {
	c, n := ecmCaller(t, page(60, 2))
	if n < 5 {
		t.Fatalf("block of %d frames, want 5 or more", n)
	}
	m, _ := c.S.Mode()
	for bad := 4; bad >= 1; bad-- {
		ppr(c, bad)
		if bad > 1 {
			c.WantAction("resends the frames asked for", t30.ActionSendFrames)
			c.Want("asks again", t30.FCFPPS)
		}
	}
	f := c.Want("continues to correct after the fourth PPR", t30.FCFCTC)
	if sp, err := t30.ParseCTC(f[0]); err != nil || sp != m.Speed {
		t.Fatalf("CTC names %v (%v), want the same speed %v", sp, err, m.Speed)
	}
	c.Recv(t30test.Frame(t30.FCFCTR))
	c.WantAction("resends the last frame", t30.ActionSendFrames)
	c.Want("asks again", t30.FCFPPS)
	c.Recv(t30test.Frame(t30.FCFMCF))
}

// TestECMNotConverging: four PPRs asking for the same frames: the line is
// not getting better, so CTC falls back a speed (T.30 A.4.4).
func TestECMNotConverging(t *testing.T) {
	c, _ := ecmCaller(t, page(60, 2))
	m, _ := c.S.Mode()
	for i := 0; i < 4; i++ {
		ppr(c, 2)
		if i < 3 {
			c.WantAction("resends the frames asked for", t30.ActionSendFrames)
			c.Want("asks again", t30.FCFPPS)
		}
	}
	f := c.Want("continues to correct after the fourth PPR", t30.FCFCTC)
	if sp, err := t30.ParseCTC(f[0]); err != nil || sp != t30.NextSpeed(t30.CommonSpeeds(t30.DefaultCapabilities().Modems, t30.DefaultCapabilities().Modems, t30.SpeedNone), m.Speed) {
		t.Fatalf("CTC names %v (%v), want the speed below %v", sp, err, m.Speed)
	}
}

// TestECMDamagedPPR (issue 16): the PPR, a long frame, keeps arriving
// damaged; each time the PPS is repeated after T4, without using up the
// tries of a dead line, until a PPR gets through.
func TestECMDamagedPPR(t *testing.T) {
	c, _ := ecmCaller(t, page(60, 2))
	for i := 0; i < 4; i++ {
		c.RecvDamaged()
		c.Advance(t30test.T4)
		c.Want("repeats the PPS", t30.FCFPPS)
	}
	ppr(c, 1)
	c.WantAction("resends the frame asked for", t30.ActionSendFrames)
}

// TestReceiverNonECM: an answering receiver, phase by phase (Figure 5-2 c).
func TestReceiverNonECM(t *testing.T) {
	doc := page(20, 3)
	m := t30.Mode{Speed: t30.V29_9600, Compression: t30.MR, Resolution: t30.ResFine,
		Width: t30.WidthA4, Length: t30.LengthA4, ScanTimeMs: 0}
	data, err := doc.Encode(0, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []t30.ReceivedPage
	c := t30test.New(t, t30.Config{OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
	c.WantTone("answers with CED", t30.ToneCED)
	c.Want("offers its capabilities", t30.FCFDIS)
	c.Recv(t30test.DCS(m))
	c.RecvTCF(m.Speed, t30.TCFDuration)
	c.Want("confirms the training", t30.FCFCFR)
	c.RecvPage(m.Speed, data)
	c.Recv(t30test.Frame(t30.FCFMPS))
	c.Want("confirms the page, more to come", t30.FCFMCF)
	c.RecvPage(m.Speed, data)
	c.Recv(t30test.Frame(t30.FCFEOP))
	c.Want("confirms the last page", t30.FCFMCF)
	c.Recv(t30test.Frame(t30.FCFEOP))
	c.Want("answers a repeated EOP (our MCF was lost) again, without a third page", t30.FCFMCF)
	c.Recv(t30test.Frame(t30.FCFDCN))
	c.WantEnd("ends on DCN", t30.ResultOK)
	if len(got) != 2 {
		t.Fatalf("%d pages delivered, want 2", len(got))
	}
}

// TestReceiverTrainingFails: a TCF with no run of zeros is answered FTT
// and the receiver waits for the next DCS (T2), not repeating DIS.
func TestReceiverTrainingFails(t *testing.T) {
	m := t30.Mode{Speed: t30.V17_14400, Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}
	c := answerer(t)
	c.Recv(t30test.DCS(m))
	c.Handle(t30.Event{Kind: t30.EventCarrierUp, Speed: m.Speed})
	noise := make([]byte, 2000)
	for i := range noise {
		noise[i] = 0x55
	}
	c.Handle(t30.Event{Kind: t30.EventData, Data: noise})
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
	c.Want("fails the training", t30.FCFFTT)
	c.Advance(t30test.T4Auto)
	c.WantQuiet("waits for the transmitter's next DCS")
	c.Recv(t30test.DCS(t30.Mode{Speed: t30.V17_12000, Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}))
	c.RecvTCF(t30.V17_12000, t30.TCFDuration)
	c.Want("confirms at the lower speed", t30.FCFCFR)
}

// TestReceiverTrainingNoData: an image carrier after DCS that brings no
// data at all (the modem could not train on it) is answered FTT when it
// drops, not with silence that would have the transmitter repeat the same
// speed until it gives up.
func TestReceiverTrainingNoData(t *testing.T) {
	m := t30.Mode{Speed: t30.V17_14400, Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}
	c := answerer(t)
	c.Recv(t30test.DCS(m))
	c.Handle(t30.Event{Kind: t30.EventCarrierUp, Speed: m.Speed})
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
	c.Want("fails the training", t30.FCFFTT)
	c.Recv(t30test.DCS(t30.Mode{Speed: t30.V17_12000, Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}))
	c.RecvTCF(t30.V17_12000, t30.TCFDuration)
	c.Want("confirms at the lower speed", t30.FCFCFR)
}

// TestReceiverNoTCF: when no image carrier follows the DCS at all (the
// TCF was lost), the receiver stays silent and the transmitter repeats its
// DCS at the same speed.
func TestReceiverNoTCF(t *testing.T) {
	m := t30.Mode{Speed: t30.V17_14400, Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}
	c := answerer(t)
	c.Recv(t30test.DCS(m))
	c.Advance(t30test.T4Auto)
	c.WantQuiet("nothing to judge: no FTT")
	c.Recv(t30test.DCS(m))
	c.RecvTCF(m.Speed, t30.TCFDuration)
	c.Want("confirms the repeated TCF", t30.FCFCFR)
}

// TestReceiverECMPartialPage: the receiver of an ECM block asks with PPR
// for exactly the frames that did not arrive, then confirms (Annex A.4).
func TestReceiverECMPartialPage(t *testing.T) {
	m := t30.Mode{Speed: t30.V17_14400, Compression: t30.MMR, ECM: true, ECMFrameSize: 256,
		Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}
	data, err := page(60, 4).Encode(0, m)
	if err != nil {
		t.Fatal(err)
	}
	var frames []t30.Frame
	for i := 0; i*256 < len(data); i++ {
		frames = append(frames, t30.FCDFrame(uint8(i), data[i*256:min((i+1)*256, len(data))]))
	}
	if len(frames) < 3 {
		t.Fatalf("%d frames, want 3 or more", len(frames))
	}
	var got []t30.ReceivedPage
	c := t30test.New(t, t30.Config{OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
	c.WantTone("answers with CED", t30.ToneCED)
	c.Want("offers its capabilities", t30.FCFDIS)
	c.Recv(t30test.DCS(m))
	c.RecvTCF(m.Speed, t30.TCFDuration)
	c.Want("confirms the training", t30.FCFCFR)
	lost := 1
	var sent []t30.Frame
	for i, f := range frames {
		if i != lost {
			sent = append(sent, f)
		}
	}
	c.RecvImage(m.Speed, append(sent, t30.RCPFrame())...)
	pps := t30.PPS{FCF2: t30.FCFEOP, Page: 0, Block: 0, Frames: len(frames)}
	c.Recv(pps.Frame(false))
	f := c.Want("asks for the frame that did not arrive", t30.FCFPPR)
	m2, err := t30.ParsePPR(f[0])
	if err != nil || m2.Count() != 1 || !m2.Has(lost) {
		t.Fatalf("PPR asks for %d frames (%v)", m2.Count(), err)
	}
	c.RecvImage(m.Speed, frames[lost], t30.RCPFrame())
	pps.Frames = 1
	c.Recv(pps.Frame(false))
	c.Want("confirms the page", t30.FCFMCF)
	if len(got) != 1 || got[0].Partial {
		t.Fatalf("pages %d", len(got))
	}
}

// TestAnswerRestoresTries: an answer ends its command's tries. DCS is
// met by silence twice, then FTT: the DCS at the next speed starts with
// all three tries again (T.30 5.4.3.1 counts per command).
func TestAnswerRestoresTries(t *testing.T) {
	caps := t30.DefaultCapabilities()
	caps.ECM = false
	c := caller(t, page(10, 1), caps)
	for i := 0; i < 2; i++ {
		c.Advance(t30test.T4)
		c.Want("repeats DCS after T4", t30.FCFDCS)
		c.WantAction("and trains", t30.ActionSendTCF)
	}
	c.Recv(t30test.Frame(t30.FCFFTT))
	c.Want("falls back a speed", t30.FCFDCS)
	c.WantAction("and trains", t30.ActionSendTCF)
	for i := 0; i < 2; i++ {
		c.Advance(t30test.T4)
		c.Want("has its tries again", t30.FCFDCS)
		c.WantAction("and trains", t30.ActionSendTCF)
	}
	c.Advance(t30test.T4)
	c.WantEnd("gives up after three tries of the new DCS", t30.ResultNoResponse)
}
