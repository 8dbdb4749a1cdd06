package sdp

import (
	"github.com/faxkit/faxkit/t38"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// SDP bodies in the styles of the field (addresses from the documentation
// ranges; the attribute spellings are the ones these products send).
const (
	asteriskOffer = "v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=session\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=image 4002 udptl t38\r\n" +
		"a=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\n" +
		"a=T38FaxMaxDatagram:400\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"
	ciscoOffer = "v=0\no=CiscoSystemsSIP-GW-UserAgent 1 1 IN IP4 198.51.100.7\ns=SIP Call\nc=IN IP4 198.51.100.7\nt=0 0\n" +
		"m=audio 0 RTP/AVP 18\n" +
		"m=image 17236 UDPTL t38\nc=IN IP4 198.51.100.8\n" +
		"a=T38FaxVersion:0\na=T38MaxBitRate:14400\na=T38FaxFillBitRemoval:0\na=T38FaxTranscodingMMR:0\n" +
		"a=T38FaxTranscodingJBIG:0\na=T38FaxRateManagement:transferredTCF\na=T38FaxMaxBuffer:200\n" +
		"a=T38FaxMaxDatagram:320\na=T38FaxUdpEC:t38UDPFEC\n"
	vendorOffer = "v=0\r\nc=IN IP4 203.0.113.5\r\nm=image 6000 udptl t38\r\n" +
		"a=t38faxversion:3\r\na=T38FaxMaxRate:9600\r\na=T38MaxDatagram:1500\r\na=T38FaxMaxBufferSize:2000\r\n" +
		"a=t38faxratemanagement:TRANSFERREDTCF\r\na=T38FaxFillBitRemoval\r\na=T38FaxTranscodingMMR:1\r\n" +
		"a=T38FaxUdpEC:T38UDPREDUNDANCY\r\na=T38FaxUdpECDepth:1 3\r\na=T38VendorInfo:0 0 0\r\na=sendrecv\r\n"
)

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name string
		body string
		want t38Media
	}{
		{"asterisk", asteriskOffer, t38Media{Port: 4002, Proto: "udptl", Addr: "192.0.2.10", Params: T38Params{
			Version: 0, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxDatagram: 400, EC: t38.ECRedundancy}}},
		{"cisco", ciscoOffer, t38Media{Port: 17236, Proto: "UDPTL", Addr: "198.51.100.8", Params: T38Params{
			MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxBuffer: 200, MaxDatagram: 320, EC: t38.ECFEC}}},
		{"vendor spellings", vendorOffer, t38Media{Port: 6000, Proto: "udptl", Addr: "203.0.113.5", Params: T38Params{
			Version: 3, MaxBitRate: 9600, RateManagement: RateTransferredTCF, MaxBuffer: 2000, MaxDatagram: 1500,
			EC: t38.ECRedundancy, ECDepthMin: 1, ECDepthMax: 3, FillBitRemoval: true, TranscodingMMR: true, VendorInfo: "0 0 0"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.body))
			require.NoError(t, err)
			got := firstT38(t, s)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
			// What we write reads back the same.
			s2, err := Parse(s.Marshal())
			require.NoError(t, err)
			again := firstT38(t, s2)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Fatalf("round trip (-want +got)\n%s", diff)
			}
		})
	}
}

// t38Media is the first T.38 section of a body, flattened for comparison.
type t38Media struct {
	Port   int
	Proto  string
	Addr   string
	Params T38Params
}

func firstT38(t *testing.T, s *Session) t38Media {
	t.Helper()
	for i := range s.Media {
		m := &s.Media[i]
		if m.IsT38() {
			p, err := m.T38()
			require.NoError(t, err)
			addr := m.Connection
			if addr == "" {
				addr = s.Connection
			}
			return t38Media{Port: m.Port, Proto: m.Proto, Addr: addr, Params: p}
		}
	}
	t.Fatal("no T.38 media")
	return t38Media{}
}

func TestT38AttributeErrors(t *testing.T) {
	for _, body := range []string{
		"v=0\r\nm=image 4000 udptl t38\r\na=T38FaxUdpEC:t38UDPMagic\r\n",
		"v=0\r\nm=image 4000 udptl t38\r\na=T38FaxMaxDatagram:-5\r\n",
		"v=0\r\nm=image 4000 udptl t38\r\na=T38FaxFillBitRemoval:maybe\r\n",
	} {
		s, err := Parse([]byte(body))
		require.NoError(t, err)
		_, err = s.Media[0].T38()
		require.ErrorIs(t, err, ErrInvalid, body)
	}
	_, err := Parse([]byte("v=0\r\nm=image 99999 udptl t38\r\n"))
	require.ErrorIs(t, err, ErrInvalid)
}

func TestParseAttributeBooleans(t *testing.T) {
	for line, want := range map[string]bool{
		"a=T38FaxFillBitRemoval":       true,
		"a=T38FaxFillBitRemoval:1":     true,
		"T38FaxFillBitRemoval:0":       false,
		"a=t38faxfillbitremoval:true":  true,
		"a=T38FaxFillBitRemoval: 0 \r": false,
	} {
		p := T38Params{FillBitRemoval: !want}
		ok, err := ParseT38Attribute(line, &p)
		require.NoError(t, err, line)
		require.True(t, ok, line)
		require.Equal(t, want, p.FillBitRemoval, line)
	}
	ok, err := ParseT38Attribute("a=rtpmap:0 PCMU/8000", &T38Params{})
	require.NoError(t, err)
	require.False(t, ok)
}

func TestAppendAttributesCanonical(t *testing.T) {
	p := T38Params{Version: 0, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxBuffer: 1800,
		MaxDatagram: 400, EC: t38.ECRedundancy, FillBitRemoval: true}
	want := "a=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxFillBitRemoval\r\n" +
		"a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxBuffer:1800\r\na=T38FaxMaxDatagram:400\r\n" +
		"a=T38FaxUdpEC:t38UDPRedundancy\r\n"
	require.Equal(t, want, string(p.AppendAttributes(nil)))
	l := Local{SessionID: 7, Addr: netip.MustParseAddr("2001:db8::1"), T38Port: 4000, T38: T38Params{Version: 2, EC: t38.ECFEC}}
	require.Equal(t, "v=0\r\no=faxkit 7 7 IN IP6 2001:db8::1\r\ns=faxkit\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"+
		"m=image 4000 udptl t38\r\na=T38FaxVersion:2\r\na=T38FaxUdpEC:t38UDPFEC\r\n",
		string(Offer(l, KindT38, nil).Marshal()))
}

func TestNormalizeMaxDatagram(t *testing.T) {
	for in, want := range map[int]int{0: 400, -1: 400, 1401: 400, 65535: 400, 1400: 1400, 238: 238, 72: 72} {
		require.Equal(t, want, NormalizeMaxDatagram(in), "in %d", in)
	}
}

func TestAnswerT38(t *testing.T) {
	local := T38Params{Version: 3, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxBuffer: 1800,
		MaxDatagram: 1400, EC: t38.ECFEC, FillBitRemoval: true}
	tests := []struct {
		name  string
		offer T38Params
		want  T38Params
	}{
		{"asterisk-style offer", T38Params{Version: 0, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxDatagram: 400, EC: t38.ECRedundancy},
			T38Params{Version: 0, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxBuffer: 1800, MaxDatagram: 400, EC: t38.ECRedundancy}},
		{"fec both, zero datagram", T38Params{Version: 2, MaxBitRate: 9600, MaxDatagram: 0, EC: t38.ECFEC, FillBitRemoval: true},
			T38Params{Version: 2, MaxBitRate: 9600, RateManagement: RateTransferredTCF, MaxBuffer: 1800, MaxDatagram: 400, EC: t38.ECFEC, FillBitRemoval: true}},
		{"huge datagram, no EC offered", T38Params{Version: 3, MaxDatagram: 65535, RateManagement: RateLocalTCF, TranscodingJBIG: true},
			T38Params{Version: 3, MaxBitRate: 14400, RateManagement: RateLocalTCF, MaxBuffer: 1800, MaxDatagram: 400}},
		{"small gateway datagram", T38Params{Version: 1, MaxDatagram: 238, EC: t38.ECRedundancy},
			T38Params{Version: 1, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxBuffer: 1800, MaxDatagram: 238, EC: t38.ECRedundancy}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, AnswerT38(tc.offer, local)); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
	// A local side without FEC answers an FEC offer with redundancy.
	l2 := local
	l2.EC = t38.ECRedundancy
	require.Equal(t, t38.ECRedundancy, AnswerT38(T38Params{EC: t38.ECFEC}, l2).EC)
	l2.EC = t38.ECNone
	require.Equal(t, t38.ECNone, AnswerT38(T38Params{EC: t38.ECFEC}, l2).EC)
}
