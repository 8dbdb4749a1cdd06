package t38

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// Hand-worked datagrams, following the byte layout of Asterisk's
// main/udptl.c and spandsp's tests/udptl.c (udptl_build_packet): 2-octet
// sequence number, the primary as an open type, 0x00 + count + secondaries
// newest first, or 0x80 + fec-npackets (01 span) + count + parity entries.
// spandsp 0.0.6's library has no UDPTL, so these are worked by hand from
// that layout, not produced by a peer.
func TestSenderHandWorkedVectors(t *testing.T) {
	type step struct{ ifp, want string }
	d := "c0 01 80 00 00 01" // v21 hdlc-data, one octet 0x01
	tests := []struct {
		name  string
		cfg   SenderConfig
		steps []step
	}{
		{"no EC", SenderConfig{}, []step{
			{"06", "0000 01 06 00 00"},
			{"02", "0001 01 02 00 00"},
		}},
		{"redundancy depth 2", SenderConfig{EC: ECRedundancy, Depth: 2}, []step{
			{"06", "0000 01 06 00 00"},
			{"02", "0001 01 02 00 01 0106"},
			{"04", "0002 01 04 00 02 0102 0106"},
			{d, "0003 06" + d + " 00 02 0104 0102"},
		}},
		{"FEC span 2 entries 1", SenderConfig{EC: ECFEC, FECSpan: 2, FECEntries: 1}, []step{
			{"06", "0000 01 06 80 0100 00"},
			{"02", "0001 01 02 80 0100 00"},
			// packets 0 and 1: 06^02
			{"04", "0002 01 04 80 0102 01 0104"},
			// packets 1 and 2: 02^04
			{d, "0003 06" + d + " 80 0102 01 0106"},
			// packets 2 and 3: 04^c0, then the rest of 3 unchanged
			{"1e", "0004 01 1e 80 0102 01 06 c4 01 80 00 00 01"},
		}},
		{"FEC span 3 entries 2 winds up", SenderConfig{EC: ECFEC, FECSpan: 3, FECEntries: 2}, []step{
			{"01", "0000 01 01 80 0100 00"},
			{"0202", "0001 02 0202 80 0100 00"},
			{"030303", "0002 03 030303 80 0100 00"},
			// entries = 3/3 = 1: packets 0,1,2 = 01^02^03, 02^03, 03
			{"04", "0003 01 04 80 0103 01 03 000103"},
			// packets 1,2,3 = 02^03^04, 02^03, 03
			{"0505", "0004 02 0505 80 0103 01 03 050103"},
			// packets 2,3,4 = 03^04^05, 03^05, 03
			{"060606", "0005 03 060606 80 0103 01 03 020603"},
			// two entries: 0,2,4 = 07 06 03 ; 1,3,5 = 00 04 06
			{"07", "0006 01 07 80 0103 02 03 070603 03 000406"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSender(tc.cfg)
			require.NoError(t, err)
			for i, st := range tc.steps {
				got, err := s.Append(nil, unhex(t, st.ifp))
				require.NoError(t, err)
				require.Equal(t, hex.EncodeToString(unhex(t, st.want)), hex.EncodeToString(got), "datagram %d", i)
				var p UDPTLPacket
				require.NoError(t, p.Unmarshal(got))
				again, err := p.AppendBinary(nil)
				require.NoError(t, err)
				require.Equal(t, got, again, "re-encoding datagram %d", i)
				require.Equal(t, len(got), p.MarshalSize())
			}
		})
	}
}

func TestUDPTLDecodeForms(t *testing.T) {
	var p UDPTLPacket
	// A zero-length primary sent as a bare 0x00 length is accepted.
	require.NoError(t, p.Unmarshal(unhex(t, "1234 00 00 00")))
	require.Equal(t, uint16(0x1234), p.Seq)
	require.Empty(t, p.Primary)
	// 2-octet open type lengths.
	long := strings.Repeat("ab", 200)
	require.NoError(t, p.Unmarshal(unhex(t, "0001 80c8"+long+" 00 01 80c8"+long)))
	require.Len(t, p.Primary, 200)
	require.Len(t, p.Secondary, 1)
	// FEC with a 2-octet fec-npackets.
	require.NoError(t, p.Unmarshal(unhex(t, "0001 0106 80 020080 01 0102")))
	require.Equal(t, RecoveryFEC, p.Recovery)
	require.Equal(t, 128, p.FECSpan)
	for _, bad := range []string{"", "00", "0001", "0001 02 06", "0001 0106", "0001 0106 00 02 0102",
		"0001 0106 00 00 ff", "0001 0106 80", "0001 0106 80 00 00", "0001 0106 80 01", "0001 0106 80 0181 00",
		"0001 c0", "0001 0106 00 c1"} {
		require.Error(t, p.Unmarshal(unhex(t, bad)), bad)
	}
}

func TestSenderNeverExceedsMaxDatagram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cfg := range []SenderConfig{
		{EC: ECRedundancy, Depth: 5, MaxDatagram: 120},
		{EC: ECRedundancy, Depth: 15, MaxDatagram: 238},
		{EC: ECFEC, FECSpan: 5, FECEntries: 3, MaxDatagram: 160},
		{EC: ECFEC, MaxDatagram: 400},
		{MaxDatagram: 72},
	} {
		s, err := NewSender(cfg)
		require.NoError(t, err)
		var buf []byte
		for i := 0; i < 3000; i++ {
			n := 1 + rng.IntN(s.MaxIFP())
			if rng.IntN(4) > 0 {
				n = 1 + rng.IntN(max(1, s.IFPBudget()))
			}
			ifp := make([]byte, n)
			buf, err = s.Append(buf[:0], ifp)
			require.NoError(t, err)
			require.LessOrEqual(t, len(buf), s.Config().MaxDatagram)
		}
		_, err = s.Append(nil, make([]byte, s.MaxIFP()+1))
		require.ErrorIs(t, err, ErrTooLarge)
		t.Logf("%+v: %d datagrams, %d with reduced EC, budget %d, max IFP %d", cfg, s.Stats().Packets, s.Stats().Reduced, s.IFPBudget(), s.MaxIFP())
	}
}

// ifpStream returns n valid, distinct IFP packets of varied size.
func ifpStream(rng *rand.Rand, n int, version Version, maxData int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var p IFP
		p.Version = version
		if i%7 == 0 {
			p.Type, p.Indicator = TypeIndicator, Indicator(rng.IntN(16))
		} else {
			data := make([]byte, 1+rng.IntN(maxData))
			data[0] = byte(i)
			if len(data) > 1 {
				data[1] = byte(i >> 8)
			}
			for j := 2; j < len(data); j++ {
				data[j] = byte(rng.Uint32())
			}
			p.Type, p.DataType = TypeData, DataV17_14400
			p.Fields = []Field{{Type: FieldT4NonECMData, Data: data}}
			if i%5 == 0 {
				p.Fields = append(p.Fields, Field{Type: FieldT4NonECMSigEnd})
			}
		}
		b, err := p.MarshalBinary()
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

type delivered struct {
	seq uint16
	ifp string
	rec Recovered
}

func collect(r *Receiver, got *[]delivered, lost *int) {
	for {
		d, ok := r.Next()
		if !ok {
			return
		}
		if d.Lost > 0 {
			*lost += d.Lost
			continue
		}
		*got = append(*got, delivered{d.Seq, string(d.IFP), d.Recovered})
	}
}

func TestReceiverRedundancyAndOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ifps := ifpStream(rng, 40, 0, 30)
	s, err := NewSender(SenderConfig{EC: ECRedundancy, Depth: 2, MaxDatagram: 1400, FirstSeq: 65530})
	require.NoError(t, err)
	var dgrams [][]byte
	for _, p := range ifps {
		d, err := s.Append(nil, p)
		require.NoError(t, err)
		dgrams = append(dgrams, d)
	}
	r, err := NewReceiver(ReceiverConfig{Window: 4})
	require.NoError(t, err)
	var got []delivered
	lost := 0
	// Drop 3 and 4 (recovered from 5), swap 10 and 11, duplicate 20,
	// drop 30-33 (too many for depth 2: 30 and 31 are lost).
	order := []int{}
	for i := range dgrams {
		switch {
		case i == 3 || i == 4 || (i >= 30 && i <= 33):
		case i == 10:
			order = append(order, 11, 10)
		case i == 11:
		case i == 20:
			order = append(order, 20, 20)
		default:
			order = append(order, i)
		}
	}
	for _, i := range order {
		require.NoError(t, r.Push(dgrams[i]))
		collect(r, &got, &lost)
	}
	r.Flush()
	collect(r, &got, &lost)
	require.Equal(t, 2, lost)
	require.Len(t, got, len(ifps)-2)
	k := 0
	for i, p := range ifps {
		if i == 30 || i == 31 {
			continue
		}
		require.Equal(t, uint16(65530+i), got[k].seq, "delivery %d", k)
		require.Equal(t, string(p), got[k].ifp, "delivery %d", k)
		k++
	}
	st := r.Stats()
	require.Equal(t, uint64(1), st.Duplicates)
	require.Equal(t, uint64(5), st.Recovered) // 3, 4, 32, 33, and 10 (11 came first)
	require.Equal(t, uint64(1), st.Gaps)
	require.Equal(t, uint64(2), st.Lost)
	t.Logf("stats %+v", st)
}

func TestReceiverLateAndGapReport(t *testing.T) {
	ifps := ifpStream(rand.New(rand.NewPCG(5, 6)), 20, 0, 10)
	s, _ := NewSender(SenderConfig{FirstSeq: 32768}) // no EC; Cisco-style start
	var dgrams [][]byte
	for _, p := range ifps {
		d, _ := s.Append(nil, p)
		dgrams = append(dgrams, d)
	}
	r, _ := NewReceiver(ReceiverConfig{Window: 3})
	var got []delivered
	lost := 0
	var gaps []Delivery
	for i, d := range dgrams {
		if i == 5 {
			continue
		}
		require.NoError(t, r.Push(d))
		for {
			e, ok := r.Next()
			if !ok {
				break
			}
			if e.Lost > 0 {
				gaps = append(gaps, e)
				lost += e.Lost
			} else {
				got = append(got, delivered{e.Seq, string(e.IFP), e.Recovered})
			}
		}
		if i == 9 {
			// 5 arrives after 6,7,8 went ahead of it: late, not delivered.
			require.NoError(t, r.Push(dgrams[5]))
			_, ok := r.Next()
			require.False(t, ok)
		}
	}
	require.Equal(t, []Delivery{{Seq: 32773, Lost: 1}}, gaps)
	require.Len(t, got, 19)
	require.Equal(t, uint64(1), r.Stats().Late)
}

func TestReceiverWraparound(t *testing.T) {
	for _, tc := range []struct {
		name     string
		skipZero bool
		rollover Rollover
		ec       ErrorCorrection
	}{
		{"to zero", false, RolloverAuto, ECRedundancy},
		{"to one detected", true, RolloverAuto, ECRedundancy},
		{"to one configured, FEC", true, RolloverToOne, ECFEC},
		{"to zero, FEC", false, RolloverAuto, ECFEC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ifps := ifpStream(rand.New(rand.NewPCG(7, 8)), 60, 0, 20)
			s, _ := NewSender(SenderConfig{EC: tc.ec, Depth: 3, MaxDatagram: 1400, FirstSeq: 65500})
			r, _ := NewReceiver(ReceiverConfig{Rollover: tc.rollover})
			var got []delivered
			lost := 0
			seqs := []uint16{}
			for i, p := range ifps {
				d, err := s.Append(nil, p)
				require.NoError(t, err)
				seq := uint16(65500 + i)
				if tc.skipZero && i >= 36 { // 65500+36 = 0 mod 65536
					seq++
					d[0], d[1] = byte(seq>>8), byte(seq)
				}
				seqs = append(seqs, seq)
				if i == 44 || (tc.rollover == RolloverAuto && i == 36) ||
					(tc.rollover != RolloverAuto && (i == 35 || i == 36 || i == 37)) {
					// Lose the packet after 65535 (and 65535 and the one
					// after when the rollover is known) and one more.
					continue
				}
				require.NoError(t, r.Push(d))
				collect(r, &got, &lost)
			}
			r.Flush()
			collect(r, &got, &lost)
			require.Zero(t, lost)
			require.Len(t, got, len(ifps))
			for i := range ifps {
				require.Equal(t, seqs[i], got[i].seq, "packet %d", i)
				require.Equal(t, string(ifps[i]), got[i].ifp, "packet %d", i)
			}
		})
	}
}

func TestReceiverFECRecoversAndTrims(t *testing.T) {
	// Packets of very different lengths: parity is as long as the longest
	// of a group, and rebuilt packets must come out at their own length.
	rng := rand.New(rand.NewPCG(9, 10))
	ifps := ifpStream(rng, 200, 0, 120)
	s, _ := NewSender(SenderConfig{EC: ECFEC, FECSpan: 3, FECEntries: 3, MaxDatagram: 1400})
	r, _ := NewReceiver(ReceiverConfig{})
	var got []delivered
	lost := 0
	for i, p := range ifps {
		d, err := s.Append(nil, p)
		require.NoError(t, err)
		if i%10 == 4 {
			continue
		}
		require.NoError(t, r.Push(d))
		collect(r, &got, &lost)
	}
	r.Flush()
	collect(r, &got, &lost)
	require.Zero(t, lost)
	require.Len(t, got, len(ifps))
	fec := 0
	for i := range got {
		require.Equal(t, string(ifps[i]), got[i].ifp, "packet %d", i)
		if got[i].rec == RecoveredFEC {
			fec++
		}
	}
	require.Equal(t, 20, fec)
	require.Equal(t, uint64(20), r.Stats().FEC)
}

func TestReceiverAcceptsEitherSchemeAnyTime(t *testing.T) {
	ifps := ifpStream(rand.New(rand.NewPCG(11, 12)), 90, 0, 40)
	red, _ := NewSender(SenderConfig{EC: ECRedundancy, Depth: 2, MaxDatagram: 1400, FirstSeq: 100})
	fec, _ := NewSender(SenderConfig{EC: ECFEC, FECSpan: 2, FECEntries: 2, MaxDatagram: 1400, FirstSeq: 100})
	r, _ := NewReceiver(ReceiverConfig{})
	var got []delivered
	lost := 0
	for i, p := range ifps {
		a, _ := red.Append(nil, p)
		b, _ := fec.Append(nil, p)
		d := a
		if (i/15)%2 == 1 {
			d = b
		}
		if i%6 == 2 {
			continue
		}
		require.NoError(t, r.Push(d))
		collect(r, &got, &lost)
	}
	r.Flush()
	collect(r, &got, &lost)
	require.Zero(t, lost)
	for i := range ifps {
		require.Equal(t, string(ifps[i]), got[i].ifp, "packet %d", i)
	}
	st := r.Stats()
	require.NotZero(t, st.Redundancy)
	require.NotZero(t, st.FEC)
}

func TestReceiverResync(t *testing.T) {
	r, _ := NewReceiver(ReceiverConfig{})
	s1, _ := NewSender(SenderConfig{FirstSeq: 10})
	s2, _ := NewSender(SenderConfig{FirstSeq: 40000})
	var got []delivered
	lost := 0
	for i := 0; i < 5; i++ {
		d, _ := s1.Append(nil, []byte{byte(2 * i)})
		require.NoError(t, r.Push(d))
	}
	for i := 0; i < 5; i++ {
		d, _ := s2.Append(nil, []byte{byte(2*i + 1)})
		require.NoError(t, r.Push(d))
	}
	collect(r, &got, &lost)
	require.Zero(t, lost)
	require.Len(t, got, 10)
	require.Equal(t, uint16(40004), got[9].seq)
	require.Equal(t, uint64(1), r.Stats().Resyncs)
}

func TestReceiverMalformedLeavesStateAlone(t *testing.T) {
	r, _ := NewReceiver(ReceiverConfig{})
	require.Error(t, r.Push([]byte{0, 1, 5}))
	require.Equal(t, ReceiverStats{Malformed: 1}, r.Stats())
	_, ok := r.Next()
	require.False(t, ok)
}

// impairment describes a network that loses and reorders datagrams.
type impairment struct {
	name string
	// apply returns the order in which datagrams 0..n-1 arrive.
	apply func(rng *rand.Rand, n int, p float64) []int
}

var impairments = []impairment{
	{"random", func(rng *rand.Rand, n int, p float64) []int {
		var out []int
		for i := 0; i < n; i++ {
			if rng.Float64() >= p {
				out = append(out, i)
			}
		}
		return out
	}},
	{"burst", func(rng *rand.Rand, n int, p float64) []int {
		// Gilbert model: bursts of mean length 4, overall loss rate p.
		const meanBurst = 4.0
		exit := 1 / meanBurst
		enter := p * exit / (1 - p)
		bad := false
		var out []int
		for i := 0; i < n; i++ {
			if bad {
				bad = rng.Float64() >= exit
			} else {
				bad = rng.Float64() < enter
			}
			if !bad {
				out = append(out, i)
			}
		}
		return out
	}},
	{"reorder", reorder},
	{"random+reorder", func(rng *rand.Rand, n int, p float64) []int {
		order := reorder(rng, n, p)
		out := order[:0]
		for _, i := range order {
			if rng.Float64() >= p {
				out = append(out, i)
			}
		}
		return out
	}},
}

func reorder(rng *rand.Rand, n int, p float64) []int {
	// A fraction p of datagrams is held back 1 to 8 places (not the first:
	// a receiver cannot know of packets before the first it sees).
	type item struct {
		at float64
		i  int
	}
	items := make([]item, n)
	for i := range items {
		items[i] = item{float64(i), i}
		if i > 0 && rng.Float64() < p {
			items[i].at += 1.5 + float64(rng.IntN(8))
		}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	// stable sort by arrival time
	for i := 1; i < n; i++ {
		for j := i; j > 0 && items[j].at < items[j-1].at; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	for i := range items {
		out[i] = items[i].i
	}
	return out
}

type scheme struct {
	name string
	cfg  SenderConfig
}

func lossSchemes() []scheme {
	s := []scheme{{"none", SenderConfig{}}}
	for d := 1; d <= 5; d++ {
		s = append(s, scheme{fmt.Sprintf("red%d", d), SenderConfig{EC: ECRedundancy, Depth: d}})
	}
	s = append(s,
		scheme{"fec3x3", SenderConfig{EC: ECFEC, FECSpan: 3, FECEntries: 3}},
		scheme{"fec5x3", SenderConfig{EC: ECFEC, FECSpan: 5, FECEntries: 3}},
		scheme{"fec3x5", SenderConfig{EC: ECFEC, FECSpan: 3, FECEntries: 5}},
	)
	return s
}

// runLoss sends n IFP packets through an impairment and returns the share
// delivered, checking order, exactly-once delivery and content.
func runLoss(t *testing.T, sc scheme, imp impairment, p float64, n int, seed uint64) (float64, ReceiverStats) {
	rng := rand.New(rand.NewPCG(seed, 99))
	ifps := ifpStream(rng, n, 0, 40)
	cfg := sc.cfg
	cfg.MaxDatagram = 1400
	cfg.FirstSeq = uint16(rng.Uint32())
	s, err := NewSender(cfg)
	require.NoError(t, err)
	dgrams := make([][]byte, n)
	for i, p := range ifps {
		dgrams[i], err = s.Append(nil, p)
		require.NoError(t, err)
	}
	r, err := NewReceiver(ReceiverConfig{Window: 16})
	require.NoError(t, err)
	next := 0 // index in ifps of the next expected delivery
	first, startIdx := true, 0
	check := func() {
		for {
			d, ok := r.Next()
			if !ok {
				return
			}
			if first {
				// Packets before the first one received are unknowable.
				next = int(d.Seq - cfg.FirstSeq)
				startIdx = next
				first = false
			}
			if d.Lost > 0 {
				require.Equal(t, cfg.FirstSeq+uint16(next), d.Seq, "gap position")
				next += d.Lost
				continue
			}
			require.Less(t, next, n, "more deliveries than packets")
			require.Equal(t, cfg.FirstSeq+uint16(next), d.Seq, "delivery order")
			require.Equal(t, string(ifps[next]), string(d.IFP), "content of %d", next)
			next++
		}
	}
	for _, i := range imp.apply(rng, n, p) {
		require.NoError(t, r.Push(dgrams[i]))
		check()
	}
	r.Flush()
	check()
	st := r.Stats()
	// Every packet after the first received one is delivered or reported.
	require.LessOrEqual(t, next, n)
	require.Equal(t, st.Delivered+st.Lost, uint64(next-startIdx), "delivered+lost")
	return float64(st.Delivered) / float64(n), st
}

func TestLossRecoveryTable(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 1000
	}
	rates := []float64{0.05, 0.10, 0.20, 0.30}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nIFP packets delivered (%% of %d sent), window 16, seeded:\n%-16s %-7s", n, "impairment", "scheme")
	for _, p := range rates {
		fmt.Fprintf(&sb, " %6.0f%%", p*100)
	}
	sb.WriteString("\n")
	results := map[string]float64{}
	for _, imp := range impairments {
		for _, sc := range lossSchemes() {
			fmt.Fprintf(&sb, "%-16s %-7s", imp.name, sc.name)
			for _, p := range rates {
				got, _ := runLoss(t, sc, imp, p, n, uint64(p*1000)+7)
				results[fmt.Sprintf("%s/%s/%.2f", imp.name, sc.name, p)] = got
				fmt.Fprintf(&sb, " %6.2f%%", got*100)
			}
			sb.WriteString("\n")
		}
	}
	t.Log(sb.String())
	// Properties the table must show.
	for _, p := range rates {
		k := func(imp, sc string) float64 { return results[fmt.Sprintf("%s/%s/%.2f", imp, sc, p)] }
		require.Equal(t, 1.0, k("reorder", "none"), "reordering within the window loses nothing")
		require.GreaterOrEqual(t, k("random", "red5"), k("random", "red1"))
		require.Greater(t, k("random", "red1"), k("random", "none"))
		require.Greater(t, k("random", "fec3x3"), k("random", "none"))
		require.Greater(t, k("burst", "red5"), k("burst", "red1"))
	}
	require.GreaterOrEqual(t, results["random/red3/0.05"], 0.999)
	require.GreaterOrEqual(t, results["random/red3/0.20"], 0.99)
	require.GreaterOrEqual(t, results["random/fec3x3/0.05"], 0.99)
}

func TestUDPTLRoundTrip(t *testing.T) {
	p := UDPTLPacket{Seq: 7, Primary: []byte{6}, Recovery: RecoveryFEC, FECSpan: 3, FEC: [][]byte{{1, 2}, {3}}}
	b, err := p.MarshalBinary()
	require.NoError(t, err)
	var q UDPTLPacket
	require.NoError(t, q.UnmarshalBinary(b))
	if diff := cmp.Diff(p, q); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	buf := make([]byte, 3)
	_, err = p.MarshalTo(buf)
	require.ErrorIs(t, err, ErrBufferTooSmall)
}

func TestReceiverDiscardsMismatchedParity(t *testing.T) {
	s, _ := NewSender(SenderConfig{EC: ECFEC, FECSpan: 2, FECEntries: 1})
	var dgrams [][]byte
	for _, ifp := range []string{"06", "02", "04", "08"} {
		d, err := s.Append(nil, unhex(t, ifp))
		require.NoError(t, err)
		dgrams = append(dgrams, d)
	}
	require.Equal(t, unhex(t, "0002 01 04 80 0102 01 0104"), dgrams[2])
	// Corrupt the parity so that the rebuilt packet 1 would be 0x80 (an
	// indicator claiming a data field): not an IFP packet. Datagram 3's
	// parity (packets 1 and 2) is corrupted the same way.
	dgrams[2][len(dgrams[2])-1] = 0x86
	dgrams[3][len(dgrams[3])-1] ^= 0x82
	r, _ := NewReceiver(ReceiverConfig{})
	var got []delivered
	lost := 0
	for _, i := range []int{0, 2, 3} {
		require.NoError(t, r.Push(dgrams[i]))
		collect(r, &got, &lost)
	}
	r.Flush()
	collect(r, &got, &lost)
	require.Equal(t, 1, lost)
	require.Len(t, got, 3)
	require.Zero(t, r.Stats().FEC)
}

func TestSenderSetDepth(t *testing.T) {
	s, _ := NewSender(SenderConfig{EC: ECRedundancy, Depth: 1})
	for _, ifp := range []string{"02", "04", "06"} {
		_, err := s.Append(nil, unhex(t, ifp))
		require.NoError(t, err)
	}
	require.NoError(t, s.SetDepth(3))
	got, err := s.Append(nil, unhex(t, "08"))
	require.NoError(t, err)
	require.Equal(t, unhex(t, "0003 0108 00 03 0106 0104 0102"), got)
	require.NoError(t, s.SetDepth(0))
	got, _ = s.Append(nil, unhex(t, "0a"))
	require.Equal(t, unhex(t, "0004 010a 00 00"), got)
	require.ErrorIs(t, s.SetDepth(16), ErrInvalid)
}

func TestUDPTLIgnoresPaddingBits(t *testing.T) {
	var p UDPTLPacket
	require.NoError(t, p.Unmarshal(unhex(t, "0001 0106 7f 00")))
	require.Equal(t, RecoverySecondary, p.Recovery)
	require.NoError(t, p.Unmarshal(unhex(t, "0001 0106 81 0103 00")))
	require.Equal(t, RecoveryFEC, p.Recovery)
}

func TestReceiverRejectsOversizeIFP(t *testing.T) {
	r, _ := NewReceiver(ReceiverConfig{MaxIFP: 16})
	s, _ := NewSender(SenderConfig{})
	d, _ := s.Append(nil, make([]byte, 17))
	require.ErrorIs(t, r.Push(d), ErrTooLarge)
	require.Equal(t, uint64(1), r.Stats().Malformed)
}

// TestReceiverChaos throws duplicated, reordered, renumbered and truncated
// datagrams at receivers and checks that their reports stay consistent:
// deliveries and gaps never overlap and never go backwards between resyncs.
func TestReceiverChaos(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for round := 0; round < 200; round++ {
		cfg := SenderConfig{MaxDatagram: 200 + rng.IntN(1200), FirstSeq: uint16(rng.Uint32())}
		switch rng.IntN(3) {
		case 1:
			cfg.EC, cfg.Depth = ECRedundancy, 1+rng.IntN(MaxDepth)
		case 2:
			cfg.EC, cfg.FECSpan, cfg.FECEntries = ECFEC, 1+rng.IntN(MaxFECSpan), 1+rng.IntN(MaxFECEntries)
			cfg.FECEntries = min(cfg.FECEntries, MaxFECReach/cfg.FECSpan)
		}
		s, err := NewSender(cfg)
		require.NoError(t, err)
		r, err := NewReceiver(ReceiverConfig{Window: 1 + rng.IntN(MaxWindow), Rollover: Rollover(rng.IntN(3))})
		require.NoError(t, err)
		ifps := ifpStream(rng, 300, 0, 60)
		var dgrams [][]byte
		for _, p := range ifps {
			d, err := s.Append(nil, p)
			require.NoError(t, err)
			dgrams = append(dgrams, d)
		}
		lastResyncs := uint64(0)
		var last int64 = -1 // offset of the last reported packet from FirstSeq
		check := func() {
			// A resync during this batch makes its order relative to the
			// reports before it meaningless: only check later batches.
			resynced := r.Stats().Resyncs != lastResyncs
			lastResyncs = r.Stats().Resyncs
			for {
				d, ok := r.Next()
				if !ok {
					return
				}
				off := int64(d.Seq - cfg.FirstSeq)
				if !resynced && last >= 0 && off <= last && last-off < 30000 {
					t.Fatalf("round %d: report for %d after %d", round, off, last)
				}
				last = off + int64(max(d.Lost, 1)) - 1
			}
		}
		for i := 0; i < 400; i++ {
			d := dgrams[rng.IntN(len(dgrams))]
			if rng.IntN(4) > 0 {
				d = dgrams[min(len(dgrams)-1, i*len(dgrams)/400)]
			}
			switch rng.IntN(20) {
			case 0:
				d = d[:rng.IntN(len(d)+1)]
			case 1:
				d = append([]byte{byte(rng.Uint32()), byte(rng.Uint32())}, d[2:]...)
			}
			_ = r.Push(d)
			check()
		}
		r.Flush()
		check()
		st := r.Stats()
		require.LessOrEqual(t, st.Recovered, st.Delivered)
		require.Equal(t, st.Recovered, st.Redundancy+st.FEC)
	}
}

func TestSenderRejectsFECBeyondReach(t *testing.T) {
	_, err := NewSender(SenderConfig{EC: ECFEC, FECSpan: 4, FECEntries: 4})
	require.ErrorIs(t, err, ErrInvalid)
}

// The first datagram's secondary packets were sent before it: they are
// delivered, whatever the window.
func TestReceiverFirstDatagramRedundancy(t *testing.T) {
	s, _ := NewSender(SenderConfig{EC: ECRedundancy, Depth: 3, FirstSeq: 500})
	var last []byte
	for _, ifp := range []string{"02", "04", "06", "08"} {
		last, _ = s.Append(nil, unhex(t, ifp))
	}
	r, _ := NewReceiver(ReceiverConfig{Window: 1})
	require.NoError(t, r.Push(last))
	var got []delivered
	lost := 0
	collect(r, &got, &lost)
	require.Zero(t, lost)
	require.Equal(t, []delivered{{500, "\x02", RecoveredRedundancy}, {501, "\x04", RecoveredRedundancy},
		{502, "\x06", RecoveredRedundancy}, {503, "\x08", RecoveredNone}}, got)
}
