package sdp

import (
	"net/netip"
	"testing"
)

// FuzzParse feeds hostile bodies to Parse, the T.38 attribute reader and
// the offer/answer functions: no panic, and whatever parses re-formats to a
// body that parses to the same thing; an answer always parses and matches
// the offer's m-lines.
func FuzzParse(f *testing.F) {
	for _, s := range []string{asteriskAudio, freeswitchT38, itspBoth, dtlsT38, asteriskOffer, ciscoOffer, vendorOffer,
		"v=0\nm=image 0 udptl t38\n", "v=0\r\na=T38FaxVersion:1", "v=0\r\nm=audio 1/2 RTP/AVP\r\n"} {
		f.Add([]byte(s))
	}
	l := Local{SessionID: 1, Addr: netip.MustParseAddr("192.0.2.1"), AudioPort: 6000, T38Port: 6002}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		out := s.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parsing our own SDP: %v\n%q", err, out)
		}
		if out2 := s2.Marshal(); string(out2) != string(out) {
			t.Fatalf("not stable:\n%q\n%q", out, out2)
		}
		for i := range s.Media {
			_, _ = s.Media[i].T38()
			_ = s.Media[i].Direction()
			_, _ = s.ConnAddr(&s.Media[i])
		}
		ans, neg, err := Answer(l, s, nil, true)
		if err != nil {
			return
		}
		if len(ans.Media) != len(s.Media) || (neg.Audio == nil) == (neg.T38 == nil) {
			t.Fatalf("answer has %d m-lines for %d, neg %+v", len(ans.Media), len(s.Media), neg)
		}
		back, err := Parse(ans.Marshal())
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%q", err, ans.Marshal())
		}
		if _, err := Result(s, back); err != nil {
			t.Fatalf("offerer cannot read our answer: %v\n%q\n%q", err, out, ans.Marshal())
		}
	})
}
