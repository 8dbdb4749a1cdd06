package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/clock"
)

// TestPacketizerGolden checks our RTP packets byte for byte against headers
// written out by hand from the RFC 3550 clause 5.1 diagram (not by pion,
// which builds them), including sequence wrap-around and 8 kHz timestamps.
func TestPacketizerGolden(t *testing.T) {
	p := NewPacketizer(&RTPConfig{SSRC: 0x11223344, FirstSequence: 0xfffe, FirstTimestamp: 1000})
	t0 := time.Unix(100, 0)
	ifp := []byte{0x06, 0x00} // an IFP t30-indicator packet (no-signal)
	var got []byte
	var err error
	for i, at := range []time.Duration{0, 20 * time.Millisecond, 1500 * time.Millisecond} {
		got, err = p.Append(got, ifp, t0.Add(at))
		require.NoError(t, err, "packet %d", i)
	}
	want := []byte{
		0x80, 0x60, 0xff, 0xfe, 0x00, 0x00, 0x03, 0xe8, 0x11, 0x22, 0x33, 0x44, 0x06, 0x00, // ts 1000
		0x80, 0x60, 0xff, 0xff, 0x00, 0x00, 0x04, 0x88, 0x11, 0x22, 0x33, 0x44, 0x06, 0x00, // +20 ms = +160
		0x80, 0x60, 0x00, 0x00, 0x00, 0x00, 0x32, 0xc8, 0x11, 0x22, 0x33, 0x44, 0x06, 0x00, // +1.5 s = +12000
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("RTP bytes (-want +got):\n%s", diff)
	}
	assert.Equal(t, uint16(1), p.NextSequence())

	_, err = p.Append(nil, nil, t0)
	require.ErrorIs(t, err, ErrMalformedRTP)

	r := NewPacketizer(nil)
	assert.NotZero(t, r.SSRC(), "random SSRC")
}

func TestDepacketizerParse(t *testing.T) {
	hdr := func(b0, b1 byte) []byte {
		return []byte{b0, b1, 0x00, 0x01, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd}
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name    string
		pkt     []byte
		want    []byte
		wantErr error
	}{
		{"plain", cat(hdr(0x80, 96), []byte{1, 2, 3}), []byte{1, 2, 3}, nil},
		{"marker", cat(hdr(0x80, 0x80|96), []byte{1}), []byte{1}, nil},
		{"csrc", cat(hdr(0x82, 96), []byte{0, 0, 0, 1, 0, 0, 0, 2}, []byte{9}), []byte{9}, nil},
		{"extension", cat(hdr(0x90, 96), []byte{0xbe, 0xde, 0, 1, 0x10, 0x55, 0, 0}, []byte{7, 8}), []byte{7, 8}, nil},
		{"padding", cat(hdr(0xa0, 96), []byte{5, 6, 0, 0, 3}), []byte{5, 6}, nil},
		{"short", []byte{0x80, 96, 0}, nil, ErrMalformedRTP},
		{"short csrc", cat(hdr(0x8f, 96), []byte{1}), nil, ErrMalformedRTP},
		{"version 1", cat(hdr(0x40, 96), []byte{1}), nil, ErrMalformedRTP},
		{"empty payload", hdr(0x80, 96), nil, ErrMalformedRTP},
		{"zero padding", cat(hdr(0xa0, 96), []byte{5, 0}), nil, ErrMalformedRTP},
		{"padding too long", cat(hdr(0xa0, 96), []byte{5, 9}), nil, ErrMalformedRTP},
		{"padding eats payload", cat(hdr(0xa0, 96), []byte{0, 2}), nil, ErrMalformedRTP},
		{"other payload type", cat(hdr(0x80, 0), []byte{0xff}), nil, ErrPayloadType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDepacketizer(nil)
			got, info, err := d.Unmarshal(tt.pkt)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, uint16(1), info.Sequence)
			assert.Equal(t, uint32(0xaabbccdd), info.SSRC)
			assert.Equal(t, SeqFirst, info.Status)
			assert.Equal(t, tt.pkt[1]&0x80 != 0, info.Marker)
		})
	}
}

// rtpPkt builds an RTP packet for sequence-tracking tests.
func rtpPkt(ssrc uint32, seq uint16) []byte {
	b := make([]byte, 13)
	b[0], b[1] = 0x80, 96
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	b[12] = byte(seq)
	return b
}

func TestDepacketizerSequence(t *testing.T) {
	type step struct {
		ssrc uint32
		seq  uint16
		want SeqStatus
		lost int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order across wrap", []step{
			{1, 65534, SeqFirst, 0}, {1, 65535, SeqInOrder, 0}, {1, 0, SeqInOrder, 0}, {1, 1, SeqInOrder, 0},
		}},
		{"gap then late fill", []step{
			{1, 10, SeqFirst, 0}, {1, 13, SeqGap, 2}, {1, 12, SeqLate, 0}, {1, 11, SeqLate, 0},
			{1, 12, SeqDuplicate, 0}, {1, 14, SeqInOrder, 0},
		}},
		{"duplicate of newest", []step{{1, 5, SeqFirst, 0}, {1, 5, SeqDuplicate, 0}, {1, 6, SeqInOrder, 0}}},
		{"late across wrap", []step{
			{1, 65535, SeqFirst, 0}, {1, 1, SeqGap, 1}, {1, 0, SeqLate, 0}, {1, 65535, SeqDuplicate, 0},
		}},
		{"beyond the window is stale", []step{
			{1, 1000, SeqFirst, 0}, {1, 1001, SeqInOrder, 0}, {1, 1001 - 200, SeqStale, 0}, {1, 1002, SeqInOrder, 0},
		}},
		{"jump needs confirmation", []step{
			{1, 100, SeqFirst, 0}, {1, 30000, SeqStale, 0}, {1, 101, SeqInOrder, 0},
			{1, 40000, SeqStale, 0}, {1, 40001, SeqResync, 0}, {1, 40002, SeqInOrder, 0},
		}},
		{"new ssrc", []step{{1, 100, SeqFirst, 0}, {2, 7, SeqResync, 0}, {2, 8, SeqInOrder, 0}}},
		{"window edge", []step{
			{1, 0, SeqFirst, 0}, {1, 127, SeqGap, 126}, {1, 0, SeqDuplicate, 0}, {1, 1, SeqLate, 0},
			{1, 128, SeqInOrder, 0}, {1, 0, SeqStale, 0},
		}},
		{"long gap shifts whole words", []step{
			{1, 0, SeqFirst, 0}, {1, 700, SeqGap, 699}, {1, 650, SeqLate, 0}, {1, 650, SeqDuplicate, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDepacketizer(nil)
			if tt.name == "long gap shifts whole words" {
				d = NewDepacketizer(&RTPConfig{Window: 1024})
			}
			for i, s := range tt.steps {
				ifp, info, err := d.Unmarshal(rtpPkt(s.ssrc, s.seq))
				require.NoError(t, err)
				assert.Equal(t, []byte{byte(s.seq)}, ifp)
				assert.Equal(t, s.want, info.Status, "step %d (seq %d): got %v", i, s.seq, info.Status)
				assert.Equal(t, s.lost, info.Lost, "step %d lost", i)
			}
		})
	}
	assert.Equal(t, "late", SeqLate.String())
	assert.Equal(t, "SeqStatus(99)", SeqStatus(99).String())
}

// rtpPipe returns two RTPConns joined by an impaired in-memory pipe.
func rtpPipe(t *testing.T, cfg *PipeConfig) (a, b *RTPConn, pa, pb *PipeConn) {
	t.Helper()
	pa, pb = Pipe(cfg)
	a = NewRTPConn(NewConn(pa, pb.LocalAddr(), nil), &RTPConfig{SSRC: 0xa, Clock: cfg.Clock})
	b = NewRTPConn(NewConn(pb, pa.LocalAddr(), nil), &RTPConfig{SSRC: 0xb, Clock: cfg.Clock})
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, pa, pb
}

func TestRTPConnImpaired(t *testing.T) {
	checkGoroutines(t)
	clk := clock.NewFake(time.Unix(0, 0))
	const n = 3000
	a, b, pa, _ := rtpPipe(t, &PipeConfig{
		AToB:     Impairment{Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Seed: 9},
		Clock:    clk,
		QueueLen: 2 * n,
	})
	ctx := testCtx(t)
	for i := range n {
		require.NoError(t, a.WritePacket(ctx, []byte(fmt.Sprintf("ifp %d", i))))
		clk.Advance(20 * time.Millisecond)
	}
	imp := pa.Stats()
	seen := map[string]bool{}
	buf := make([]byte, 64)
	for range imp.Offered - imp.Lost {
		m, info, err := b.ReadIFP(ctx, buf)
		require.NoError(t, err)
		s := string(buf[:m])
		require.False(t, seen[s], "%q delivered twice", s)
		seen[s] = true
		assert.True(t, info.Status.Deliverable())
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := b.ReadPacket(rctx, buf)
	require.ErrorIs(t, err, context.DeadlineExceeded, "nothing more to deliver")
	st := b.Stats()
	assert.Equal(t, int(imp.Offered-imp.Lost), len(seen))
	t.Logf("impairment %+v\n\t\t\treceiver %+v", imp, st)
	// A held-back packet arrives late, except when its own duplicate
	// overtakes it (then it is a duplicate) or its hold expires before a
	// successor survives the loss (then it is in order).
	assert.LessOrEqual(t, st.Late, imp.Reordered)
	assert.GreaterOrEqual(t, st.Late, imp.Reordered*8/10)
	assert.GreaterOrEqual(t, st.Duplicates, imp.Duplicated)
	assert.LessOrEqual(t, st.Duplicates, imp.Duplicated+imp.Reordered-st.Late)
	// Losses at the very end leave no gap to see.
	trailing := uint64(0)
	for i := n - 1; i >= 0 && !seen[fmt.Sprintf("ifp %d", i)]; i-- {
		trailing++
	}
	assert.Equal(t, imp.Lost-trailing, st.Lost, "lost = gaps never filled")
}

func TestRTPConnDropLate(t *testing.T) {
	pa, pb := Pipe(&PipeConfig{AToB: Impairment{Reorder: 1}})
	a := NewRTPConn(NewConn(pa, pb.LocalAddr(), nil), nil)
	b := NewRTPConn(NewConn(pb, pa.LocalAddr(), nil), &RTPConfig{DropLate: true})
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	for i := range 4 {
		require.NoError(t, a.WritePacket(ctx, []byte{byte(i)}))
	}
	// Wire order: 1 0 3 2. With DropLate, 0 and 2 are discarded.
	buf := make([]byte, 4)
	for _, want := range []byte{1, 3} {
		n, err := b.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, []byte{want}, buf[:n])
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := b.ReadPacket(rctx, buf)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st := b.Stats()
	assert.Equal(t, uint64(2), st.Late)
	assert.Equal(t, uint64(2), st.Dropped)
}

func TestRTPConnIgnoresJunk(t *testing.T) {
	pa, pb := Pipe(nil)
	b := NewRTPConn(NewConn(pb, pa.LocalAddr(), nil), nil)
	defer b.Close()
	defer pa.Close()
	ctx := testCtx(t)
	for _, junk := range [][]byte{{1, 2}, {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff}} {
		_, err := pa.WriteTo(junk, nil)
		require.NoError(t, err)
	}
	_, err := pa.WriteTo(rtpPkt(5, 5), nil)
	require.NoError(t, err)
	buf := make([]byte, 4)
	n, err := b.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, []byte{5}, buf[:n])
	st := b.Stats()
	assert.Equal(t, uint64(1), st.Malformed)
	assert.Equal(t, uint64(1), st.ForeignPT)
	require.NoError(t, b.Close())
	_, err = b.ReadPacket(ctx, buf)
	require.ErrorIs(t, err, ErrClosed)
}

// TestRTPOverListener runs IFP over RTP through a real Listener call and a
// dialled socket on loopback, in both directions.
func TestRTPOverListener(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	l, err := Listen("udp4", "127.0.0.1:0", nil)
	require.NoError(t, err)
	defer l.Close()
	dc, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	client := NewRTPConn(dc, nil)
	defer client.Close()

	require.NoError(t, client.WritePacket(ctx, []byte("ifp-0")))
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	server := NewRTPConn(call, nil)
	defer server.Close()

	buf := make([]byte, 64)
	for i := range 10 {
		if i > 0 {
			require.NoError(t, client.WritePacket(ctx, []byte(fmt.Sprintf("ifp-%d", i))))
		}
		n, info, err := server.ReadIFP(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("ifp-%d", i), string(buf[:n]))
		require.Equal(t, client.SSRC(), info.SSRC)
		require.NoError(t, server.WritePacket(ctx, buf[:n]))
		n, err = client.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("ifp-%d", i), string(buf[:n]))
	}
	assert.Zero(t, server.Stats().Lost)
	require.ErrorIs(t, client.WritePacket(ctx, make([]byte, DefaultMaxDatagram)), ErrTooLarge)
}

// FuzzDepacketizer feeds a stream of hostile datagrams (2-byte length
// prefixed) through one Depacketizer and checks its invariants.
func FuzzDepacketizer(f *testing.F) {
	var seed []byte
	for _, s := range []uint16{1, 2, 5, 4, 4, 60000, 60001} {
		p := rtpPkt(7, s)
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Add([]byte{0, 14, 0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2})
	f.Add([]byte{0, 20, 0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0x55, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDepacketizer(&RTPConfig{Window: 64})
		ok, delivered := uint64(0), uint64(0)
		for len(data) >= 2 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			pkt := data[:n]
			data = data[n:]
			ifp, info, err := d.Unmarshal(pkt)
			if err != nil {
				if ifp != nil {
					t.Fatalf("payload returned with error %v", err)
				}
				continue
			}
			ok++
			if len(ifp) == 0 || len(ifp) > len(pkt)-12 {
				t.Fatalf("payload of %d bytes from a %d-byte packet", len(ifp), len(pkt))
			}
			// The payload must alias the packet's tail region.
			if &ifp[0] != &pkt[len(pkt)-len(ifp)-padLen(pkt)] {
				t.Fatalf("payload does not alias the packet")
			}
			if info.Lost < 0 || info.Lost >= maxDropout {
				t.Fatalf("lost = %d", info.Lost)
			}
			if info.Status.Deliverable() {
				delivered++
			}
			_ = info.Status.String()
		}
		st := d.Stats()
		if st.Packets != ok {
			t.Fatalf("stats count %d packets, parsed %d", st.Packets, ok)
		}
		if st.Packets-st.Dropped != delivered {
			t.Fatalf("delivered %d, stats say %d", delivered, st.Packets-st.Dropped)
		}
	})
}

func padLen(pkt []byte) int {
	if pkt[0]&0x20 != 0 {
		return int(pkt[len(pkt)-1])
	}
	return 0
}
