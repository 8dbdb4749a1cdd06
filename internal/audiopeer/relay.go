package audiopeer

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/modem/g711"
)

// Impairment is what a Relay does to one direction of a G.711 RTP stream,
// in this order: the receiving end's sample clock runs PPM faster than
// the sending end's (the audio is resampled), the level changes by Gain
// dB, white noise at Noise dBm0 is added (0: none), the samples go back
// through G.711, then a packet is dropped with probability Loss, and the
// others are delayed by a random time up to Jitter (so they may arrive
// out of order).
type Impairment struct {
	PPM    float64
	Gain   float64
	Noise  float64
	Loss   float64
	Jitter time.Duration
	// Spare keeps the random loss off the first Spare of each signal
	// (packets after a silent one; silence is lost as ever): a packet
	// lost in an image modem's training costs the training (faxkit's
	// receivers, like spandsp's, do not ride through it), and a test of
	// what loss does to page data spares it.
	Spare time.Duration
	// DropOnce drops one packet this far into the first signal that
	// lasts at least that long without a silent packet (an image
	// modem's page burst, for a DropOnce of a few seconds).
	DropOnce time.Duration
}

// RelayConfig configures a Relay.
type RelayConfig struct {
	AtoB, BtoA Impairment
	PCMA       bool    // the streams' law (default µ-law)
	Speedup    float64 // the calls' clock speed-up (delays scale with it); 0 means 1
	Seed       uint64
}

// RelayStats counts one direction.
type RelayStats struct {
	In, Out, Lost uint64
	DroppedOnce   bool
}

// Relay carries G.711 RTP between two ends on 127.0.0.1, impairing each
// direction. End A sends to AddrA and is answered from it, end B likewise
// with AddrB; each end's address is learnt from its first packet (both
// ends send from the start of a call, silence included).
type Relay struct {
	cfg   RelayConfig
	conns [2]net.PacketConn
	mu    sync.Mutex
	ends  [2]net.Addr
	stats [2]RelayStats
	wg    sync.WaitGroup
	done  chan struct{}
}

// NewRelay starts a relay; the test's cleanup stops it.
func NewRelay(t testing.TB, cfg RelayConfig) *Relay {
	t.Helper()
	if cfg.Speedup <= 0 {
		cfg.Speedup = 1
	}
	r := &Relay{cfg: cfg, done: make(chan struct{})}
	for i := range r.conns {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := c.(*net.UDPConn); ok {
			_ = u.SetReadBuffer(1 << 20)
		}
		r.conns[i] = c
	}
	for i := range 2 {
		imp := cfg.AtoB
		if i == 1 {
			imp = cfg.BtoA
		}
		r.wg.Add(1)
		go r.run(i, imp, rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1)))
	}
	t.Cleanup(r.Close)
	return r
}

// AddrA is where end A sends; AddrB where end B sends.
func (r *Relay) AddrA() net.Addr { return r.conns[0].LocalAddr() }

// AddrB is where end B sends.
func (r *Relay) AddrB() net.Addr { return r.conns[1].LocalAddr() }

// Stats returns the counts of A to B and of B to A.
func (r *Relay) Stats() (ab, ba RelayStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats[0], r.stats[1]
}

// Close stops the relay.
func (r *Relay) Close() {
	select {
	case <-r.done:
		return
	default:
	}
	close(r.done)
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.wg.Wait()
}

// run carries what end `from` sends to the other end.
func (r *Relay) run(from int, imp Impairment, rng *rand.Rand) {
	defer r.wg.Done()
	to := 1 - from
	law := g711.ULaw
	if r.cfg.PCMA {
		law = g711.ALaw
	}
	var sk *skew
	if imp.PPM != 0 {
		sk = newSkew(imp.PPM)
	}
	var noise *dsp.AWGN
	if imp.Noise != 0 {
		noise = dsp.NewAWGN(r.cfg.Seed+uint64(from)*7919, imp.Noise)
	}
	gain := math.Pow(10, imp.Gain/20)
	quiet := dsp.DBm0ToRMS(-50)
	var run time.Duration
	buf := make([]byte, 1500)
	pcm := make([]int16, 0, 1500)
	var p rtp.Packet
	for {
		n, addr, err := r.conns[from].ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.mu.Lock()
		if r.ends[from] == nil {
			r.ends[from] = addr
		}
		dst := r.ends[to]
		r.stats[from].In++
		r.mu.Unlock()
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		pcm = pcm[:len(p.Payload)]
		g711.Decode(law, pcm, p.Payload)
		// Energy before the impairments: is the sender talking?
		e := 0.0
		for _, v := range pcm {
			e += float64(v) * float64(v)
		}
		if math.Sqrt(e/float64(max(1, len(pcm)))) > quiet {
			run += time.Duration(len(pcm)) * time.Second / 8000
		} else {
			run = 0
		}
		if sk != nil {
			sk.carry(pcm)
		}
		if gain != 1 {
			for i, v := range pcm {
				pcm[i] = dsp.Sat16(float64(v) * gain)
			}
		}
		if noise != nil {
			noise.Add(pcm)
		}
		payload := make([]byte, len(pcm))
		g711.Encode(law, payload, pcm)
		drop := imp.Loss > 0 && rng.Float64() < imp.Loss && (run == 0 || run > imp.Spare)
		r.mu.Lock()
		if imp.DropOnce > 0 && !r.stats[from].DroppedOnce && run >= imp.DropOnce {
			r.stats[from].DroppedOnce = true
			drop = true
		}
		if drop {
			r.stats[from].Lost++
		}
		r.mu.Unlock()
		if drop || dst == nil {
			continue
		}
		out := rtp.Packet{Header: p.Header, Payload: payload}
		raw, err := out.Marshal()
		if err != nil {
			continue
		}
		send := func() {
			if _, err := r.conns[to].WriteTo(raw, dst); err == nil {
				r.mu.Lock()
				r.stats[from].Out++
				r.mu.Unlock()
			}
		}
		if imp.Jitter > 0 {
			d := time.Duration(rng.Int64N(int64(imp.Jitter) + 1))
			time.AfterFunc(time.Duration(float64(d)/r.cfg.Speedup), send)
		} else {
			send()
		}
	}
}

// skew resamples a stream as heard by a receiver whose sample clock runs
// ppm faster than the sender's (32-tap Blackman-windowed sinc
// interpolation, transparent in the voice band; 128 samples of silence
// absorb the drift of a call of up to 5 minutes).
type skew struct {
	ratio float64
	buf   []float64
	pos   float64
}

const phases = 1024

var sincTable = func() (t [phases][32]float64) {
	for p := range t {
		f := float64(p) / phases
		for j := -15; j <= 16; j++ {
			d := float64(j) - f
			w := 0.42 + 0.5*math.Cos(math.Pi*d/16) + 0.08*math.Cos(2*math.Pi*d/16)
			sinc := 1.0
			if d != 0 {
				sinc = math.Sin(math.Pi*d) / (math.Pi * d)
			}
			t[p][j+15] = sinc * w
		}
	}
	return
}()

func newSkew(ppm float64) *skew {
	return &skew{ratio: 1 - ppm*1e-6, buf: make([]float64, 128)}
}

func (s *skew) carry(x []int16) {
	for _, v := range x {
		s.buf = append(s.buf, float64(v))
	}
	for k := range x {
		i := int(s.pos)
		f := s.pos - float64(i)
		v := 0.0
		taps := &sincTable[int(f*phases)]
		for j := -15; j <= 16; j++ {
			if i+j >= 0 && i+j < len(s.buf) {
				v += s.buf[i+j] * taps[j+15]
			}
		}
		x[k] = dsp.Sat16(math.Round(v))
		s.pos += s.ratio
	}
	if n := int(s.pos) - 32; n > 4096 {
		s.buf = append(s.buf[:0], s.buf[n:]...)
		s.pos -= float64(n)
	}
}
