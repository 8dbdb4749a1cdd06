package sdp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/t38"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// Bodies shaped like the ones these products send (addresses from the
// documentation ranges, identifiers synthetic).
const (
	// Asterisk chan_pjsip initial INVITE.
	asteriskAudio = "v=0\r\no=- 1697 1699 IN IP4 192.0.2.10\r\ns=Asterisk\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 10012 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:150\r\na=sendrecv\r\n"
	// FreeSWITCH T.38 re-INVITE (mod_spandsp).
	freeswitchT38 = "v=0\r\no=FreeSWITCH 1733000000 1733000002 IN IP4 198.51.100.20\r\n" +
		"s=FreeSWITCH\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\nm=image 26180 udptl t38\r\n" +
		"a=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxFillBitRemoval\r\na=T38FaxRateManagement:transferredTCF\r\n" +
		"a=T38FaxMaxBuffer:2000\r\na=T38FaxMaxDatagram:400\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"
	// An ITSP SBC offering audio and T.38 in the initial INVITE, with b=,
	// media-level c= and a PCMA-first preference.
	itspBoth = "v=0\r\no=SBC 22 33 IN IP4 203.0.113.9\r\ns=-\r\nb=AS:84\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 8 0 96\r\nc=IN IP4 203.0.113.10\r\nb=TIAS:64000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n" +
		"m=image 40002 UDPTL t38\r\nc=IN IP4 203.0.113.10\r\na=T38FaxVersion:1\r\na=T38MaxBitRate:9600\r\n" +
		"a=T38FaxMaxDatagram:1440\r\na=T38FaxUdpEC:t38UDPFEC\r\n"
	// RFC 7345 DTLS UDPTL.
	dtlsT38 = "v=0\r\no=- 5 5 IN IP6 2001:db8::5\r\ns=-\r\nc=IN IP6 2001:db8::5\r\nt=0 0\r\n" +
		"m=image 50000 UDP/TLS/UDPTL t38\r\na=setup:actpass\r\na=fingerprint:SHA-256 AA:BB\r\na=T38FaxVersion:2\r\n"
)

func TestParseWholeBody(t *testing.T) {
	s, err := Parse([]byte(itspBoth))
	require.NoError(t, err)
	want := &Session{
		Origin: Origin{Username: "SBC", SessionID: 22, Version: 33, Address: "203.0.113.9"},
		Name:   "-", Time: "0 0", Extra: []string{"b=AS:84"},
		Media: []Media{
			{Type: "audio", Port: 40000, Proto: "RTP/AVP", Formats: []string{"8", "0", "96"}, Connection: "203.0.113.10",
				Extra: []string{"b=TIAS:64000"}, Attrs: []Attr{{"rtpmap", "96 telephone-event/8000", true}, {"fmtp", "96 0-15", true}}},
			{Type: "image", Port: 40002, Proto: "UDPTL", Formats: []string{"t38"}, Connection: "203.0.113.10",
				Attrs: []Attr{{"T38FaxVersion", "1", true}, {"T38MaxBitRate", "9600", true}, {"T38FaxMaxDatagram", "1440", true}, {"T38FaxUdpEC", "t38UDPFEC", true}}},
		},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	ap, ok := s.ConnAddr(&s.Media[1])
	require.True(t, ok)
	require.Equal(t, "203.0.113.10:40002", ap.String())
	// Round trip.
	s2, err := Parse(s.Marshal())
	require.NoError(t, err)
	if diff := cmp.Diff(s, s2); diff != "" {
		t.Fatalf("round trip (-want +got)\n%s", diff)
	}

	d, err := Parse([]byte(dtlsT38))
	require.NoError(t, err)
	require.True(t, d.Media[0].IsT38())
	require.Equal(t, ProtoUDPTLDTLS, d.Media[0].Proto)
	v, ok := d.Media[0].Attr("fingerprint")
	require.True(t, ok)
	require.Equal(t, "SHA-256 AA:BB", v)
}

func TestParseErrors(t *testing.T) {
	for name, body := range map[string]string{
		"empty":        "",
		"no equals":    "v=0\r\nhello\r\n",
		"bad version":  "v=1\r\n",
		"bad origin":   "v=0\r\no=- x 1 IN IP4 a\r\n",
		"short origin": "v=0\r\no=- 1 1\r\n",
		"bad port":     "v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
		"bad count":    "v=0\r\nm=audio 4000/0 RTP/AVP 0\r\n",
		"short m":      "v=0\r\nm=audio 4000\r\n",
		"bad c":        "v=0\r\nc=IN IP4\r\n",
		"upper type":   "v=0\r\nM=audio 4000 RTP/AVP 0\r\n",
	} {
		_, err := Parse([]byte(body))
		require.ErrorIs(t, err, ErrInvalid, name)
		require.NotContains(t, err.Error(), "192.0.2", name)
	}
	_, err := Parse([]byte("v=0\r\n" + strings.Repeat("m=audio 1 RTP/AVP 0\r\n", MaxMedia+1)))
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = Parse(make([]byte, MaxBodySize+1))
	require.ErrorIs(t, err, ErrTooLarge)
}

func local() Local {
	return Local{SessionID: 1000, Addr: netip.MustParseAddr("192.0.2.1"), AudioPort: 6000, T38Port: 6002,
		T38: T38Params{Version: 3, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxBuffer: 1800, MaxDatagram: 1400, EC: t38.ECFEC}}
}

func TestAnswerAudio(t *testing.T) {
	offer, err := Parse([]byte(asteriskAudio))
	require.NoError(t, err)
	ans, neg, err := Answer(local(), offer, nil, true)
	require.NoError(t, err)
	want := "v=0\r\no=faxkit 1000 1000 IN IP4 192.0.2.1\r\ns=faxkit\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\na=sendrecv\r\n"
	require.Equal(t, want, string(ans.Marshal()))
	require.Nil(t, neg.T38)
	require.Equal(t, &AudioStream{Remote: netip.MustParseAddrPort("192.0.2.10:10012"), Codec: PCMU, TelephoneEvent: 101,
		Direction: "sendrecv", Ptime: 20}, neg.Audio)

	// The offerer reads the same result from our answer.
	res, err := Result(offer, ans)
	require.NoError(t, err)
	require.Equal(t, PCMU, res.Audio.Codec)
	require.Equal(t, "192.0.2.1:6000", res.Audio.Remote.String())
}

func TestAnswerPrefersT38WhenBothOffered(t *testing.T) {
	offer, err := Parse([]byte(itspBoth))
	require.NoError(t, err)
	ans, neg, err := Answer(local(), offer, nil, true)
	require.NoError(t, err)
	require.Len(t, ans.Media, 2)
	require.Equal(t, 0, ans.Media[0].Port, "audio rejected with port 0")
	require.Equal(t, []string{"8", "0", "96"}, ans.Media[0].Formats)
	require.Equal(t, 6002, ans.Media[1].Port)
	require.Equal(t, "UDPTL", ans.Media[1].Proto, "transport spelled as offered")
	require.NotNil(t, neg.T38)
	require.Equal(t, "203.0.113.10:40002", neg.T38.Remote.String())
	// FEC offered and supported: FEC; 1440 is not a plausible datagram: 400.
	require.Equal(t, T38Params{Version: 1, MaxBitRate: 9600, RateManagement: RateTransferredTCF, MaxBuffer: 1800,
		MaxDatagram: 400, EC: t38.ECFEC}, neg.T38.Params)

	// Without T.38 allowed, the audio is taken (PCMA, the offerer's first).
	ans, neg, err = Answer(local(), offer, nil, false)
	require.NoError(t, err)
	require.Equal(t, 0, ans.Media[1].Port)
	require.Equal(t, PCMA, neg.Audio.Codec)
	require.Equal(t, 96, neg.Audio.TelephoneEvent)
	require.Equal(t, "a=fmtp:96 0-15", "a="+ans.Media[0].Attrs[2].String())
}

func TestAnswerRejects(t *testing.T) {
	d, err := Parse([]byte(dtlsT38))
	require.NoError(t, err)
	_, _, err = Answer(local(), d, nil, true)
	require.ErrorIs(t, err, ErrNoMedia, "DTLS UDPTL is not answered")

	g722, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\n"))
	require.NoError(t, err)
	_, _, err = Answer(local(), g722, nil, true)
	require.ErrorIs(t, err, ErrNoMedia)

	fs, err := Parse([]byte(freeswitchT38))
	require.NoError(t, err)
	_, _, err = Answer(local(), fs, nil, false)
	require.ErrorIs(t, err, ErrNoMedia, "T.38 refused: 488")
}

// A dialog: we answer audio, then the peer re-INVITEs to T.38, then sends
// the same T.38 offer again as a session refresh.
func TestReinviteVersions(t *testing.T) {
	l := local()
	offer, err := Parse([]byte(asteriskAudio))
	require.NoError(t, err)
	a1, _, err := Answer(l, offer, nil, true)
	require.NoError(t, err)

	fs, err := Parse([]byte(freeswitchT38))
	require.NoError(t, err)
	a2, neg, err := Answer(l, fs, a1, true)
	require.NoError(t, err)
	require.Equal(t, a1.Origin.SessionID, a2.Origin.SessionID)
	require.Equal(t, a1.Origin.Version+1, a2.Origin.Version, "changed: version+1")
	require.Equal(t, "198.51.100.20:26180", neg.T38.Remote.String())
	require.Equal(t, t38.ECRedundancy, neg.T38.Params.EC, "redundancy as offered")
	require.True(t, neg.T38.Params.FillBitRemoval == false, "fill-bit removal only when both have it")

	// Version: the lower of the offer's and our maximum.
	l3 := l
	l3.T38.Version, l3.T38MaxVersion = 0, 3
	v2 := fs.Clone()
	v2.Media[0].Attrs[0].Value = "2"
	_, negv, err := Answer(l3, v2, nil, true)
	require.NoError(t, err)
	require.Equal(t, t38.Version(2), negv.T38.Params.Version)

	a3, neg3, err := Answer(l, fs, a2, true)
	require.NoError(t, err)
	require.Equal(t, string(a2.Marshal()), string(a3.Marshal()), "identical refresh: identical answer, same version")
	require.Equal(t, neg, neg3)
}

func TestOfferSlots(t *testing.T) {
	l := local()
	o1 := Offer(l, KindAudioT38, nil)
	require.Len(t, o1.Media, 2)
	require.Equal(t, uint64(1000), o1.Origin.Version)
	// Switch to T.38 by re-INVITE: two slots kept, the second disabled.
	o2 := Offer(l, KindT38, o1)
	require.Len(t, o2.Media, 2)
	require.True(t, o2.Media[0].IsT38())
	require.Equal(t, 6002, o2.Media[0].Port)
	require.Equal(t, 0, o2.Media[1].Port)
	require.Equal(t, uint64(1001), o2.Origin.Version)
	// The same offer again (a refresh): same version.
	o3 := Offer(l, KindT38, o2)
	require.Equal(t, o2.Origin.Version, o3.Origin.Version)

	// A peer answering our T.38 re-offer.
	peer := Local{SessionID: 77, Addr: netip.MustParseAddr("192.0.2.2"), AudioPort: 7000, T38Port: 7002,
		T38: T38Params{Version: 0, MaxDatagram: 400, EC: t38.ECRedundancy}}
	ans, pneg, err := Answer(peer, o2, nil, true)
	require.NoError(t, err)
	require.Equal(t, "192.0.2.1:6002", pneg.T38.Remote.String())
	res, err := Result(o2, ans)
	require.NoError(t, err)
	require.Equal(t, "192.0.2.2:7002", res.T38.Remote.String())
	require.Equal(t, T38Params{Version: 0, MaxBitRate: 14400, RateManagement: RateTransferredTCF, MaxDatagram: 400,
		EC: t38.ECRedundancy}, res.T38.Params)

	// An answer with the wrong number of m-lines is refused.
	bad := ans.Clone()
	bad.Media = bad.Media[:1]
	_, err = Result(o2, bad)
	require.ErrorIs(t, err, ErrInvalid)
	// An answer that rejects everything.
	rej := ans.Clone()
	rej.Media[0].Port = 0
	_, err = Result(o2, rej)
	require.ErrorIs(t, err, ErrNoMedia)
}

func TestHoldDirection(t *testing.T) {
	offer, err := Parse([]byte(strings.Replace(asteriskAudio, "a=sendrecv", "a=sendonly", 1)))
	require.NoError(t, err)
	_, neg, err := Answer(local(), offer, nil, true)
	require.NoError(t, err)
	require.Equal(t, "recvonly", neg.Audio.Direction)
}

func TestEnumStrings(t *testing.T) {
	require.Equal(t, "transferredTCF", RateTransferredTCF.String())
	require.Equal(t, "RateManagement(9)", RateManagement(9).String())
	require.Equal(t, "t38", KindT38.String())
	require.Equal(t, "Kind(9)", Kind(9).String())
}
