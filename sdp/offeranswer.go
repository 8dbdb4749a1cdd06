package sdp

import (
	"fmt"
	"github.com/faxkit/faxkit/t38"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Codec is an audio RTP payload format.
type Codec struct {
	PT   uint8
	Name string // encoding name as in a=rtpmap, e.g. "PCMU"
	Rate int    // clock rate
}

// The G.711 codecs (RFC 3551 static payload types).
var (
	PCMU = Codec{PT: 0, Name: "PCMU", Rate: 8000}
	PCMA = Codec{PT: 8, Name: "PCMA", Rate: 8000}
)

// DefaultTelephoneEventPT is the payload type offered for RFC 4733
// telephone-event when Local.TelephoneEvent is zero.
const DefaultTelephoneEventPT = 101

// Local is what this side can receive, for building offers and answers.
// Its zero value is completed by the functions below: username "faxkit",
// codecs PCMU then PCMA, telephone-event on payload type 101.
type Local struct {
	Username  string     // o= user name
	SessionID uint64     // o= sess-id of a new session; also its first version
	Addr      netip.Addr // media address written in c=
	AudioPort int        // RTP port; 0: audio is refused
	T38Port   int        // UDPTL port; 0: T.38 is refused
	Codecs    []Codec    // audio codecs in order of preference
	// TelephoneEvent is the payload type offered for telephone-event; a
	// negative value leaves telephone-event out of offers and answers.
	TelephoneEvent int
	T38            T38Params // local T.38 capabilities (offers state T38.Version)
	// T38MaxVersion is the highest T38FaxVersion accepted when answering
	// (the answer is the lower of the offer's and this). Default
	// T38.Version. Offers keep T38.Version: most gateways default to 0
	// and some mishandle a higher one offered to them.
	T38MaxVersion t38.Version
}

func (l Local) withDefaults() Local {
	if l.Username == "" {
		l.Username = "faxkit"
	}
	if len(l.Codecs) == 0 {
		l.Codecs = []Codec{PCMU, PCMA}
	}
	if l.TelephoneEvent == 0 {
		l.TelephoneEvent = DefaultTelephoneEventPT
	}
	return l
}

// Kind is the media a description makes active.
type Kind uint8

// Kinds of offer.
const (
	KindAudio    Kind = iota // G.711 audio only
	KindT38                  // T.38 only (the re-INVITE switch)
	KindAudioT38             // audio and T.38 in one offer (T.38 in the initial INVITE)
)

var kindNames = [...]string{"audio", "t38", "audio+t38"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// AudioStream is a negotiated G.711 RTP stream.
type AudioStream struct {
	Remote         netip.AddrPort // where to send RTP (may be unspecified while on hold)
	Codec          Codec
	TelephoneEvent int    // payload type, or -1
	Direction      string // our direction: sendrecv, sendonly, recvonly, inactive
	Ptime          int    // packet time in ms the peer asked for (0: not stated)
}

// T38Stream is a negotiated T.38 UDPTL stream.
type T38Stream struct {
	Remote netip.AddrPort
	Params T38Params // the parameters in force: the answer's
}

// Negotiated is the media an offer/answer exchange set up. At most one of
// Audio and T38 is set by this package: a fax call uses one at a time.
type Negotiated struct {
	Audio *AudioStream
	T38   *T38Stream
}

// Kind reports the active media.
func (n Negotiated) Kind() Kind {
	if n.T38 != nil {
		return KindT38
	}
	return KindAudio
}

// Offer builds an offer of kind from l. prev is the last description this
// side sent in the dialog (nil for the initial offer): its session ID is
// kept, its m-line slots are kept in order (RFC 3264 clause 8: a stream is
// never removed; a slot no longer used is sent with port 0), and its
// version is incremented only if the description changed.
//
// For a T.38 re-offer the slot of the previous audio stream is reused for
// m=image, as Asterisk and FreeSWITCH do (RFC 3264 clause 8.3.3 permits a
// change of media type in a slot).
func Offer(l Local, kind Kind, prev *Session) *Session {
	l = l.withDefaults()
	audio := l.audioMedia(nil)
	image := l.imageMedia(l.T38, ProtoUDPTL)
	var want []Media
	switch kind {
	case KindAudio:
		want = []Media{audio}
	case KindT38:
		want = []Media{image}
	default:
		want = []Media{audio, image}
	}
	s := l.newSession()
	if prev == nil {
		s.Media = want
		return stamp(s, nil)
	}
	// Reuse slots: the first len(want) slots carry what we want, the rest
	// are disabled copies of what was there.
	s.Media = make([]Media, 0, max(len(prev.Media), len(want)))
	for i := range max(len(prev.Media), len(want)) {
		if i < len(want) {
			s.Media = append(s.Media, want[i])
			continue
		}
		s.Media = append(s.Media, disabled(prev.Media[i]))
	}
	return stamp(s, prev)
}

// Answer answers offer (RFC 3264 clause 6) from l. prev is the last
// description this side sent in the dialog (nil when answering the initial
// INVITE). acceptT38 says whether a T.38 stream in the offer may be
// accepted; when it is and the offer has both audio and T.38, T.38 is taken
// and the audio stream is rejected with port 0 (a fax call uses one).
// UDP/TLS/UDPTL (RFC 7345) is refused (port 0): this package does not do
// DTLS.
//
// The answer has the offer's m-lines in the offer's order. It keeps prev's
// session ID and version when nothing changed (a session refresh answered
// identically, RFC 3264 clause 8). ErrNoMedia means no stream could be
// accepted: answer 488.
func Answer(l Local, offer *Session, prev *Session, acceptT38 bool) (*Session, Negotiated, error) {
	l = l.withDefaults()
	var neg Negotiated
	if len(offer.Media) == 0 {
		return nil, neg, ErrNoMedia
	}
	pick := -1
	if acceptT38 && l.T38Port > 0 {
		for i := range offer.Media {
			m := &offer.Media[i]
			if m.Port > 0 && m.IsT38() && strings.EqualFold(m.Proto, ProtoUDPTL) {
				if _, err := m.T38(); err == nil {
					pick = i
					break
				}
			}
		}
	}
	if pick < 0 && l.AudioPort > 0 {
		for i := range offer.Media {
			m := &offer.Media[i]
			if m.Port > 0 && m.IsAudioRTP() {
				if _, ok := chooseCodec(m, l.Codecs); ok {
					pick = i
					break
				}
			}
		}
	}
	if pick < 0 {
		return nil, neg, ErrNoMedia
	}
	s := l.newSession()
	s.Media = make([]Media, len(offer.Media))
	for i := range offer.Media {
		om := &offer.Media[i]
		if i != pick {
			s.Media[i] = disabled(*om)
			continue
		}
		remote, _ := offer.ConnAddr(om)
		if om.IsT38() {
			p, _ := om.T38()
			lt := l.T38
			lt.Version = max(lt.Version, l.T38MaxVersion)
			ap := AnswerT38(p, lt)
			am := l.imageMedia(ap, om.Proto)
			am.Attrs = append(am.Attrs, Attr{Name: answerDirection(om.Direction())})
			s.Media[i] = am
			neg.T38 = &T38Stream{Remote: remote, Params: ap}
			continue
		}
		c, _ := chooseCodec(om, l.Codecs)
		te := telephoneEventPT(om)
		if l.TelephoneEvent < 0 {
			te = -1
		}
		am := l.audioMedia(&answerAudio{codec: c, te: te, fmtp: fmtpFor(om, te)})
		dir := answerDirection(om.Direction())
		am.Attrs = append(am.Attrs, Attr{Name: dir})
		s.Media[i] = am
		ptime, _ := om.Attr("ptime")
		pt, _ := strconv.Atoi(strings.TrimSpace(ptime))
		neg.Audio = &AudioStream{Remote: remote, Codec: c, TelephoneEvent: te, Direction: dir, Ptime: pt}
	}
	return stamp(s, prev), neg, nil
}

// Result reads the answer to offer from the offerer's side: the stream the
// answerer accepted (the first with a non-zero port), its remote address
// and the parameters in force. An answer whose m-lines do not match the
// offer's is ErrInvalid; an answer that rejects every stream is
// ErrNoMedia.
func Result(offer, answer *Session) (Negotiated, error) {
	var neg Negotiated
	if len(answer.Media) != len(offer.Media) {
		return neg, fmt.Errorf("%w: answer has %d m-lines, offer %d", ErrInvalid, len(answer.Media), len(offer.Media))
	}
	for i := range answer.Media {
		am, om := &answer.Media[i], &offer.Media[i]
		if am.Port == 0 || om.Port == 0 {
			continue
		}
		remote, _ := answer.ConnAddr(am)
		switch {
		case am.IsT38() && om.IsT38():
			p, err := am.T38()
			if err != nil {
				return neg, err
			}
			return Negotiated{T38: &T38Stream{Remote: remote, Params: p}}, nil
		case am.IsAudioRTP() && om.IsAudioRTP():
			var offered []Codec
			for _, f := range om.Formats {
				if c, ok := codecOf(om, f); ok {
					offered = append(offered, c)
				}
			}
			c, ok := chooseCodec(am, offered)
			if !ok {
				return neg, fmt.Errorf("%w: answer has no offered codec", ErrNoMedia)
			}
			ptime, _ := am.Attr("ptime")
			pt, _ := strconv.Atoi(strings.TrimSpace(ptime))
			return Negotiated{Audio: &AudioStream{Remote: remote, Codec: c, TelephoneEvent: telephoneEventPT(am),
				Direction: answerDirection(am.Direction()), Ptime: pt}}, nil
		}
	}
	return neg, ErrNoMedia
}

// SameMedia reports whether a and b describe the same media, ignoring the
// o= version: a session refresh re-offering an unchanged description.
func SameMedia(a, b *Session) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := a.Clone(), b.Clone()
	x.Origin.Version, y.Origin.Version = 0, 0
	return string(x.Marshal()) == string(y.Marshal())
}

func (l Local) newSession() *Session {
	return &Session{
		Origin:     Origin{Username: l.Username, SessionID: l.SessionID, Version: l.SessionID, Address: l.addr()},
		Name:       "faxkit",
		Connection: l.addr(),
		Time:       "0 0",
	}
}

func (l Local) addr() string {
	if !l.Addr.IsValid() {
		return "0.0.0.0"
	}
	return l.Addr.Unmap().String()
}

// stamp gives s prev's session ID, and prev's version if the media did not
// change, else prev's version plus one.
func stamp(s, prev *Session) *Session {
	if prev == nil {
		return s
	}
	s.Origin.SessionID = prev.Origin.SessionID
	s.Origin.Username = prev.Origin.Username
	s.Origin.Version = prev.Origin.Version
	if !SameMedia(s, prev) {
		s.Origin.Version++
	}
	return s
}

type answerAudio struct {
	codec Codec
	te    int
	fmtp  string
}

func (l Local) audioMedia(ans *answerAudio) Media {
	m := Media{Type: TypeAudio, Port: l.AudioPort, Proto: ProtoRTPAVP}
	codecs, te, fmtp := l.Codecs, l.TelephoneEvent, "0-16"
	if ans != nil {
		codecs, te, fmtp = []Codec{ans.codec}, ans.te, ans.fmtp
	}
	for _, c := range codecs {
		m.Formats = append(m.Formats, strconv.Itoa(int(c.PT)))
		m.Attrs = append(m.Attrs, Attr{Name: "rtpmap", Value: fmt.Sprintf("%d %s/%d", c.PT, c.Name, c.Rate), HasValue: true})
	}
	if te >= 0 && te < 128 {
		m.Formats = append(m.Formats, strconv.Itoa(te))
		m.Attrs = append(m.Attrs,
			Attr{Name: "rtpmap", Value: fmt.Sprintf("%d telephone-event/8000", te), HasValue: true},
			Attr{Name: "fmtp", Value: fmt.Sprintf("%d %s", te, fmtp), HasValue: true})
	}
	m.Attrs = append(m.Attrs, Attr{Name: "ptime", Value: "20", HasValue: true})
	if ans == nil {
		m.Attrs = append(m.Attrs, Attr{Name: "sendrecv"})
	}
	return m
}

func (l Local) imageMedia(p T38Params, proto string) Media {
	m := Media{Type: TypeImage, Port: l.T38Port, Proto: proto, Formats: []string{FormatT38}}
	for _, line := range strings.Split(strings.TrimSpace(string(p.AppendAttributes(nil))), "\r\n") {
		name, value, has := strings.Cut(strings.TrimPrefix(line, "a="), ":")
		m.Attrs = append(m.Attrs, Attr{Name: name, Value: value, HasValue: has})
	}
	return m
}

// disabled is m rejected: port 0, its type, proto and formats kept (RFC
// 3264 clause 6: at least one format must still be listed), no attributes.
func disabled(m Media) Media {
	d := Media{Type: tokenOr(m.Type, TypeAudio), Proto: tokenOr(m.Proto, ProtoRTPAVP), Formats: slices.Clone(m.Formats)}
	if len(d.Formats) == 0 {
		d.Formats = []string{"0"}
	}
	return d
}

func answerDirection(offered string) string {
	switch offered {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// codecOf names format f of m: from its a=rtpmap, else the static payload
// types 0 and 8.
func codecOf(m *Media, f string) (Codec, bool) {
	pt, err := strconv.Atoi(f)
	if err != nil || pt < 0 || pt > 127 {
		return Codec{}, false
	}
	for _, a := range m.Attrs {
		if !strings.EqualFold(a.Name, "rtpmap") {
			continue
		}
		num, enc, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
		if num != f {
			continue
		}
		name, rate, _ := strings.Cut(strings.TrimSpace(enc), "/")
		rate, _, _ = strings.Cut(rate, "/")
		r, err := strconv.Atoi(rate)
		if err != nil {
			return Codec{}, false
		}
		return Codec{PT: uint8(pt), Name: name, Rate: r}, true
	}
	switch pt {
	case 0:
		return PCMU, true
	case 8:
		return PCMA, true
	}
	return Codec{}, false
}

// chooseCodec returns the first format of m (the offerer's preference) that
// is one of ours, matched by name and rate.
func chooseCodec(m *Media, ours []Codec) (Codec, bool) {
	for _, f := range m.Formats {
		c, ok := codecOf(m, f)
		if !ok {
			continue
		}
		for _, o := range ours {
			if strings.EqualFold(o.Name, c.Name) && o.Rate == c.Rate {
				return Codec{PT: c.PT, Name: o.Name, Rate: o.Rate}, true
			}
		}
	}
	return Codec{}, false
}

func telephoneEventPT(m *Media) int {
	for _, f := range m.Formats {
		if c, ok := codecOf(m, f); ok && strings.EqualFold(c.Name, "telephone-event") && c.Rate == 8000 {
			return int(c.PT)
		}
	}
	return -1
}

func fmtpFor(m *Media, pt int) string {
	p := strconv.Itoa(pt)
	for _, a := range m.Attrs {
		if strings.EqualFold(a.Name, "fmtp") {
			num, v, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
			if num == p && isToken(strings.TrimSpace(v)) {
				return strings.TrimSpace(v)
			}
		}
	}
	return "0-16"
}
