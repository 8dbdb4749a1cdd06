package sip

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/faxkit/faxkit/sdp"
)

const seedInvite = "INVITE sip:5551234@192.0.2.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK776asdhds;rport\r\n" +
	"Max-Forwards: 70\r\nTo: <sip:5551234@192.0.2.1>\r\nFrom: <sip:5550000@192.0.2.9>;tag=1928301774\r\n" +
	"Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nContact: <sip:5550000@192.0.2.9:5060>\r\n" +
	"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n"

// FuzzInvite feeds hostile SIP messages to the decisions faxkit adds on
// top of sipgo: the answer to an initial INVITE (content type, SDP, policy)
// and then, for whatever parses, the call machine's handling of it as a
// re-INVITE offer and as the answer to our own re-INVITE. No panic, and
// every decision is a valid status.
func FuzzInvite(f *testing.F) {
	bodies := []string{
		"v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
		"v=0\r\no=- 1 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=image 4002 udptl t38\r\na=T38FaxVersion:0\r\na=T38FaxUdpEC:t38UDPFEC\r\n",
		"v=0\r\nm=image 4002 UDP/TLS/UDPTL t38\r\n",
		"",
	}
	for _, b := range bodies {
		f.Add([]byte(sprintf(seedInvite, len(b)) + b))
	}
	f.Add([]byte("INVITE sip:x@y SIP/2.0\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"))
	l := sdp.Local{SessionID: 1, AudioPort: 6000, T38Port: 6000}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := sip.ParseMessage(b)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		for _, p := range []Policy{PolicyAuto, PolicyOff} {
			ans, offer, neg, code := inviteAnswer(req, l, p)
			switch code {
			case 200:
				if ans == nil || (offer != nil && neg.Audio == nil && neg.T38 == nil) {
					t.Fatalf("200 without an answer")
				}
				if _, err := sdp.Parse(ans.Marshal()); err != nil {
					t.Fatalf("our SDP does not parse: %v", err)
				}
			case 400, 415, 488:
			default:
				t.Fatalf("status %d", code)
			}
		}
		// The same body as a re-INVITE offer and as an answer mid-call.
		body, _ := sdp.Parse(req.Body())
		for _, role := range []Role{RoleCaller, RoleAnswerer} {
			m := &machine{cfg: machineConfig{role: role, local: l, switchTimeout: 5 * time.Second,
				autoRequestDelay: 3 * time.Second, awaitTimeout: 35 * time.Second}}
			m.start(time.Unix(0, 0), sdp.Offer(l, sdp.KindAudio, nil), nil, sdp.Negotiated{})
			acts := m.remoteOffer(time.Unix(1, 0), body)
			if len(acts) == 0 || acts[0].kind != actRespond {
				t.Fatalf("re-INVITE not answered: %+v", acts)
			}
			m.state = stAudio
			m.sendT38Offer(time.Unix(2, 0))
			m.offerAnswered(time.Unix(2, 0), reply{code: 200}, body)
		}
	})
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// FuzzSessionTimer feeds hostile session-timer headers (RFC 4028
// Session-Expires, Supported, and the same value as a 422's Min-SE) in an
// INVITE, a 2xx and a 422 to the negotiation faxkit adds: no panic, an interval within bounds, and a
// 2xx answer whose Session-Expires parses back to what was negotiated.
func FuzzSessionTimer(f *testing.F) {
	for _, v := range []string{"1800", "90;refresher=uac", "120;refresher=UAS;x=y", "0", "abc", "99999999999",
		"1800 ; refresher = uas", "4294967295;refresher=uac"} {
		f.Add(v, "timer")
	}
	f.Add("", "100rel, timer")
	f.Fuzz(func(t *testing.T, se, supported string) {
		raw := "INVITE sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
			"From: <sip:b@192.0.2.9>;tag=1\r\nTo: <sip:a@192.0.2.1>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n" +
			"Session-Expires: " + se + "\r\nSupported: " + supported + "\r\nContent-Length: 0\r\n\r\n"
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		// The same value as the Min-SE of a 422 to our request: a retry,
		// if any, asks for an interval within bounds and above what we
		// asked.
		res422 := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res422.AppendHeader(sip.NewHeader("Min-SE", se))
		if mse := minSEOf(res422); mse < 0 || mse > maxSessionInterval {
			t.Fatalf("Min-SE %q read as %v", se, mse)
		} else if next, ok := retryInterval(mse, 90*time.Second, 90*time.Second); ok && (next <= 90*time.Second || next > maxSessionInterval) {
			t.Fatalf("Min-SE %q retried asking for %v", se, next)
		}
		v, _, st, tooSmall := uasSessionTimer(req, 0, 90*time.Second)
		if tooSmall {
			return
		}
		if st.interval < 0 || st.interval > maxSessionInterval || (st.interval > 0 && st.interval < 90*time.Second) {
			t.Fatalf("interval %v out of bounds", st.interval)
		}
		if v == "" {
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Session-Expires", v))
		back := uacSessionTimer(res)
		if back.interval != st.interval || back.weRefresh == st.weRefresh {
			t.Fatalf("2xx Session-Expires %q reads back as %+v, negotiated %+v", v, back, st)
		}
	})
}
