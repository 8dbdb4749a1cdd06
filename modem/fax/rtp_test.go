package fax

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/t30"
)

func block(v int16) []int16 {
	b := make([]int16, BlockSize)
	for i := range b {
		b[i] = v
	}
	return b
}

func TestJitterBuffer(t *testing.T) {
	j := NewJitterBuffer(2)
	out := make([]int16, BlockSize)
	j.Get(out) // before the first packet: silence, not counted
	require.Equal(t, JitterStats{}, j.Stats())
	var ts0 uint32 = 4294967200 // wraps during the test
	j.Put(ts0, block(1))
	j.Put(ts0+2*BlockSize, block(3)) // out of order
	j.Put(ts0+BlockSize, block(2))
	j.Put(ts0+BlockSize, block(2)) // duplicate
	var got []int16
	for range 6 {
		j.Get(out)
		got = append(got, out[0])
	}
	// two blocks of delay, then 1 2 3, then a missing block (4 never came)
	require.Equal(t, []int16{0, 0, 1, 2, 3, 0}, got)
	j.Put(ts0+3*BlockSize, block(4)) // too late now
	j.Put(ts0+100*BlockSize, block(9))
	st := j.Stats()
	// The two blocks of delay before the first packet are not missing.
	require.Equal(t, JitterStats{Received: 6, Played: 3, Missing: 1, Late: 1, Duplicate: 1, Overflow: 1}, st)
	// A line that fell far behind skips blocks: they count as missing,
	// and the block after them plays in its turn.
	j.Put(ts0+6*BlockSize, block(6))
	j.Put(ts0+7*BlockSize, block(7))
	j.skip(3, BlockSize) // 4, 5 (gone), 6
	require.True(t, j.Get(out))
	require.Equal(t, int16(7), out[0])
	require.Equal(t, uint64(4), j.Stats().Missing)
	// The far end's timestamps jump 10 s ahead (it skipped time): after
	// four packets in a row too far ahead, the buffer starts again from
	// the fourth, two blocks of delay later, and plays on.
	far := ts0 + 8*BlockSize + 80000
	for k := range uint32(6) {
		j.Put(far+k*BlockSize, block(int16(20+k)))
	}
	require.Equal(t, uint64(1+3), j.Stats().Overflow)
	got = got[:0]
	for range 5 {
		require.True(t, j.Get(out))
		got = append(got, out[0])
	}
	require.Equal(t, []int16{0, 0, 23, 24, 25}, got)
}

// netSim carries 20 ms packets with loss and a random delay (jitter) into
// a jitter buffer, on the lockstep clock of a call.
type netSim struct {
	rng      *rand.Rand
	loss     float64 // probability
	jitter   int     // maximum extra delay, in 1 ms steps
	jb       *JitterBuffer
	inflight []simPkt
	ts       uint32
	law      g711.Law
}

type simPkt struct {
	at  int // arrival, ms
	ts  uint32
	pcm []int16
}

func (n *netSim) send(now int, pcm []int16) {
	n.ts += BlockSize
	if n.rng.Float64() < n.loss {
		return
	}
	p := simPkt{at: now + n.rng.IntN(n.jitter+1), ts: n.ts, pcm: append([]int16(nil), pcm...)}
	g711.Channel(n.law, p.pcm)
	n.inflight = append(n.inflight, p)
}

func (n *netSim) recv(now int, out []int16) []int16 {
	keep := n.inflight[:0]
	for _, p := range n.inflight {
		if p.at <= now {
			n.jb.Put(p.ts, p.pcm)
		} else {
			keep = append(keep, p)
		}
	}
	n.inflight = keep
	if !n.jb.Get(out) {
		return nil
	}
	return out
}

// TestCallOverRTP holds faxkit-to-faxkit calls through simulated G.711 RTP
// with 0.5 % loss and 20 ms of jitter into 60 ms fixed jitter buffers. ECM
// pages must arrive pixel-exact (lost blocks cost retransmissions); in
// non-ECM pages only the rows reported bad may differ.
func TestCallOverRTP(t *testing.T) {
	for _, c := range []struct {
		name   string
		modems t30.ModemSet
		ecm    bool
		seed   uint64
	}{
		{"V29-ECM", t30.ModemsV29 | t30.ModemsV27ter, true, 4},
		{"V27ter-ECM", t30.ModemsV27ter, true, 2},
		{"V29-nonECM", t30.ModemsV29 | t30.ModemsV27ter, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := testDoc(1, 600)
			var got []t30.ReceivedPage
			txs, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "A"), Calling: true, Transmit: true, Document: doc, Capabilities: audioCaps(c.ecm, c.modems)})
			require.NoError(t, err)
			rxs, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "B"), Capabilities: audioCaps(c.ecm, t30.ModemsV29|t30.ModemsV27ter),
				OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
			require.NoError(t, err)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			a, b := NewTerminal(txs, NewCore(nil), start), NewTerminal(rxs, NewCore(nil), start)
			rng := rand.New(rand.NewPCG(c.seed, 99))
			ab := &netSim{rng: rng, loss: 0.005, jitter: 20, jb: NewJitterBuffer(3), law: g711.ULaw}
			ba := &netSim{rng: rng, loss: 0.005, jitter: 20, jb: NewJitterBuffer(3), law: g711.ULaw}
			var aIn, aOut, bIn, bOut [BlockSize]int16
			for i := 0; i < 15000 && !(a.Done() && b.Done()); i++ {
				now := i * 20
				a.Process(ba.recv(now, aIn[:]), aOut[:])
				b.Process(ab.recv(now, bIn[:]), bOut[:])
				ab.send(now, aOut[:])
				ba.send(now, bOut[:])
			}
			t.Logf("tx %v rx %v; line %v; PPRs %d; a→b %+v; b→a %+v", txs.Result(), rxs.Result(), a.Now().Sub(start),
				txs.Stats().PPRs, ab.jb.Stats(), ba.jb.Stats())
			require.Equal(t, t30.ResultOK, txs.Result())
			require.Equal(t, t30.ResultOK, rxs.Result())
			checkPages(t, callOutcome{doc: doc, got: got, lossy: true})
			require.NotZero(t, ab.jb.Stats().Missing+ba.jb.Stats().Missing, "the channel lost nothing: the test tests nothing")
			if c.ecm {
				// The receiver counts the frames it asked for again and got:
				// at least one per PPR round, at most what the sender resent.
				rep := b.Core().Stats().FramesRepeated
				t.Logf("PPRs sent %d received %d; frames resent %d, received again %d",
					rxs.Stats().PPRs, txs.Stats().PPRs, txs.Stats().FramesResent, rep)
				require.Equal(t, txs.Stats().PPRs, rxs.Stats().PPRs)
				require.Positive(t, rxs.Stats().PPRs, "no frame was lost: the test tests nothing")
				require.GreaterOrEqual(t, rep, rxs.Stats().PPRs)
				require.LessOrEqual(t, rep, txs.Stats().FramesResent)
			} else {
				require.Zero(t, b.Core().Stats().FramesRepeated)
			}
		})
	}
}

// TestRTPLine sends G.711 RTP between two RTPLines on 127.0.0.1, at each
// packet time: what one sends, the other plays, after the jitter buffer's
// delay, through the codec; packets are one packet time long, and their
// timestamps advance by as many samples.
func TestRTPLine(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, c := range []struct {
		law   g711.Law
		ptime time.Duration
	}{{g711.ULaw, 20 * time.Millisecond}, {g711.ALaw, 10 * time.Millisecond}, {g711.ULaw, 30 * time.Millisecond}, {g711.ALaw, 40 * time.Millisecond}} {
		law := c.law
		t.Run(fmt.Sprintf("%v/%v", law, c.ptime), func(t *testing.T) {
			ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
			require.NoError(t, err)
			defer ca.Close()
			cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
			require.NoError(t, err)
			defer cb.Close()
			// A deep buffer: this tests what the line carries, not how a
			// busy machine schedules it.
			la := NewRTPLine(ca, cb.LocalAddr(), &RTPConfig{Law: law, Depth: 10, PTime: c.ptime})
			lb := NewRTPLine(cb, ca.LocalAddr(), &RTPConfig{Law: law, Depth: 10, PTime: c.ptime})
			size := int(c.ptime / (time.Second / SampleRate))
			require.Equal(t, size, la.BlockLen())
			start := la.Stream()
			defer la.Close()
			defer lb.Close()
			const n = 40
			var wg sync.WaitGroup
			wg.Add(1)
			var heard [][]int16
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			go func() {
				defer wg.Done()
				rx := make([]int16, size)
				for i := 0; i < n+10 && ctx.Err() == nil; i++ {
					_, err := lb.ReadBlock(rx)
					require.NoError(t, err)
					heard = append(heard, append([]int16(nil), rx...))
					_ = lb.WriteBlock(rx)
				}
			}()
			rx := make([]int16, size)
			for i := range n {
				_, err := la.ReadBlock(rx)
				require.NoError(t, err)
				tx := make([]int16, size)
				for k := range tx {
					tx[k] = int16((i+1)*100 + k)
				}
				require.NoError(t, la.WriteBlock(tx))
			}
			wg.Wait()
			// Find the first block in what b heard: the blocks arrive in
			// order after the jitter buffer's delay, companded.
			first := -1
			for k, h := range heard {
				if h[0] != 0 {
					first = k
					break
				}
			}
			require.GreaterOrEqual(t, first, 2, "played before the jitter buffer's delay")
			for i := 0; i < 10 && first+i < len(heard); i++ {
				want := make([]int16, size)
				for k := range want {
					want[k] = int16((i+1)*100 + k)
				}
				g711.Channel(law, want)
				require.Equal(t, want, heard[first+i], "block %d", i)
			}
			st := lb.Stats()
			require.Equal(t, uint64(n), st.PacketsIn)
			require.Zero(t, st.Jitter.Late)
			require.Zero(t, st.Foreign)
			sa := la.Stats()
			require.Equal(t, uint64(n), sa.PacketsOut)
			require.Equal(t, uint64(n*(12+size)), sa.BytesOut, "one packet time a packet")
			end := la.Stream()
			require.Equal(t, start.Seq+n, end.Seq)
			require.Equal(t, start.Timestamp+uint32(n*size), end.Timestamp)
		})
	}
}

// TestJitterBufferPTimes: packets of one packet time played in blocks of
// another (a far end whose ptime is not ours), and a lost packet makes
// exactly the blocks it overlapped missing.
func TestJitterBufferPTimes(t *testing.T) {
	for _, c := range []struct{ in, out int }{{160, 80}, {80, 320}, {240, 160}, {320, 320}} {
		t.Run(fmt.Sprintf("%d-in-%d", c.in, c.out), func(t *testing.T) {
			j := NewJitterBufferSamples(960) // 120 ms
			const total = 960 * 2            // a multiple of every size, within the buffer
			lost := 2 * c.in                 // the third packet
			var ts0 uint32 = 4294967000
			for at := 0; at < total; at += c.in {
				if at == lost {
					continue
				}
				p := make([]int16, c.in)
				for k := range p {
					p[k] = int16(1 + at + k)
				}
				j.Put(ts0+uint32(at), p)
			}
			out := make([]int16, c.out)
			for range 960 / c.out { // the delay
				require.True(t, j.Get(out))
				require.Equal(t, make([]int16, c.out), out)
			}
			missing := 0
			for at := 0; at < total; at += c.out {
				ok := j.Get(out)
				gap := at < lost+c.in && lost < at+c.out
				require.Equal(t, !gap, ok, "block at %d", at)
				for k, v := range out {
					if s := at + k; s < lost || s >= lost+c.in {
						require.Equal(t, int16(1+s), v, "sample %d", s)
					} else {
						require.Zero(t, v)
					}
				}
				if !ok {
					missing++
				}
			}
			require.Equal(t, uint64(missing), j.Stats().Missing)
			require.Positive(t, missing)
		})
	}
}

// FuzzJitterBuffer puts packets with arbitrary timestamps and takes blocks:
// no panic, every played block is a put one or silence, and the counts add
// up.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 160, 1, 0, 0, 0, 0, 0, 1, 64}, uint8(3))
	f.Add([]byte{255, 255, 255, 200, 0, 0, 0, 100, 128, 0, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, ops []byte, depth uint8) {
		j := NewJitterBuffer(int(depth % 16))
		out := make([]int16, BlockSize)
		var gets, puts uint64
		for len(ops) >= 4 {
			ts := uint32(ops[0])<<24 | uint32(ops[1])<<16 | uint32(ops[2])<<8 | uint32(ops[3])
			ops = ops[4:]
			if ts&1 == 0 {
				j.Put(ts, block(int16(ts>>16|1)))
				puts++
			} else {
				j.Get(out)
				gets++
				for u := 0; u < len(out); u += unitSize {
					for _, v := range out[u : u+unitSize] {
						if v != out[u] {
							t.Fatal("a played 10 ms unit mixes packets")
						}
					}
				}
			}
		}
		st := j.Stats()
		if st.Received != puts || st.Played+st.Missing > gets || st.Late+st.Duplicate+st.Overflow > puts {
			t.Fatalf("counts %+v after %d puts, %d gets", st, puts, gets)
		}
	})
}
