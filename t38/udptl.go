package t38

import (
	"bytes"
	"fmt"
	"strconv"
)

// Recovery is the error-recovery choice of a UDPTL packet.
type Recovery uint8

// Error-recovery choices (T.38 clause 9.1, UDPTLPacket.error-recovery).
const (
	RecoverySecondary Recovery = iota // secondary-ifp-packets (redundancy), octet 0x00
	RecoveryFEC                       // fec-info, octet 0x80
)

func (r Recovery) String() string {
	switch r {
	case RecoverySecondary:
		return "secondary-ifp-packets"
	case RecoveryFEC:
		return "fec-info"
	}
	return "Recovery(" + strconv.Itoa(int(r)) + ")"
}

// UDPTLPacket is one UDPTL datagram (T.38 clause 9.1 and annex A), encoded
// with the basic aligned variant of X.691 PER:
//
//	UDPTLPacket ::= SEQUENCE {
//	    seq-number          INTEGER (0..65535),                  -- 2 octets
//	    primary-ifp-packet  TYPE-IDENTIFIER.&Type(IFPPacket),    -- open type
//	    error-recovery      CHOICE {                             -- 1 octet: 0x00 or 0x80
//	        secondary-ifp-packets SEQUENCE OF TYPE-IDENTIFIER.&Type(IFPPacket),
//	        fec-info SEQUENCE {
//	            fec-npackets INTEGER,                            -- length octet + value
//	            fec-data     SEQUENCE OF OCTET STRING } } }
//
// An open type is a length determinant (1 octet below 0x80, 2 octets with
// 0x80 set below 0x4000) followed by the octets; an empty one is sent as
// the single octet 0x00 with length 1 (X.691 10.1), as spandsp and Asterisk
// do. Lengths of 16384 and more (fragmented) are not supported: no datagram
// carries them.
//
// Unmarshal makes Primary, Secondary[i] and FEC[i] alias the input buffer.
type UDPTLPacket struct {
	Seq      uint16
	Primary  []byte // the primary IFP packet, encoded
	Recovery Recovery
	// Secondary holds earlier IFP packets, newest first: Secondary[0] is
	// Seq-1, Secondary[1] is Seq-2, and so on (RecoverySecondary). An empty
	// entry carries no information about its packet.
	Secondary [][]byte
	// FECSpan (fec-npackets) and FEC (fec-data) are the parity entries of
	// RecoveryFEC; see the FEC layout in fec.go.
	FECSpan int
	FEC     [][]byte
}

func openTypeSize(n int) int {
	if n == 0 {
		n = 1
	}
	return lengthSize(n) + n
}

func putOpenType(b []byte, data []byte) int {
	if len(data) == 0 {
		b[0], b[1] = 1, 0
		return 2
	}
	i := putLength(b, len(data))
	return i + copy(b[i:], data)
}

func intSize(v int) int {
	if v < 0x80 {
		return 2
	}
	if v < 0x8000 {
		return 3
	}
	return 4
}

func putInt(b []byte, v int) int {
	switch {
	case v < 0x80:
		b[0], b[1] = 1, byte(v)
		return 2
	case v < 0x8000:
		b[0], b[1], b[2] = 2, byte(v>>8), byte(v)
		return 3
	}
	b[0], b[1], b[2], b[3] = 3, byte(v>>16), byte(v>>8), byte(v)
	return 4
}

// MarshalSize returns the length of p's encoding, or 0 when p cannot be
// encoded.
func (p *UDPTLPacket) MarshalSize() int {
	n, err := p.size()
	if err != nil {
		return 0
	}
	return n
}

func (p *UDPTLPacket) size() (int, error) {
	if len(p.Primary) >= 0x4000 {
		return 0, fmt.Errorf("%w: primary IFP of %d octets", ErrTooLarge, len(p.Primary))
	}
	n := 2 + openTypeSize(len(p.Primary)) + 1
	var list [][]byte
	switch p.Recovery {
	case RecoverySecondary:
		list = p.Secondary
	case RecoveryFEC:
		if p.FECSpan < 0 || p.FECSpan > 0xffffff {
			return 0, fmt.Errorf("%w: fec-npackets %d", ErrInvalid, p.FECSpan)
		}
		n += intSize(p.FECSpan)
		list = p.FEC
	default:
		return 0, fmt.Errorf("%w: error recovery %d", ErrInvalid, p.Recovery)
	}
	if len(list) >= 0x4000 {
		return 0, fmt.Errorf("%w: %d recovery entries", ErrTooLarge, len(list))
	}
	n += lengthSize(len(list))
	for _, e := range list {
		if len(e) >= 0x4000 {
			return 0, fmt.Errorf("%w: recovery entry of %d octets", ErrTooLarge, len(e))
		}
		n += openTypeSize(len(e))
	}
	return n, nil
}

// MarshalTo encodes p into buf and returns the number of octets written.
// It does not allocate.
func (p *UDPTLPacket) MarshalTo(buf []byte) (int, error) {
	n, err := p.size()
	if err != nil {
		return 0, err
	}
	if len(buf) < n {
		return 0, ErrBufferTooSmall
	}
	p.encode(buf)
	return n, nil
}

// AppendBinary appends p's encoding to b (encoding.BinaryAppender).
func (p *UDPTLPacket) AppendBinary(b []byte) ([]byte, error) {
	n, err := p.size()
	if err != nil {
		return b, err
	}
	off := len(b)
	b = grow(b, n)
	p.encode(b[off:])
	return b, nil
}

// MarshalBinary returns p's encoding (encoding.BinaryMarshaler).
func (p *UDPTLPacket) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary is Unmarshal (encoding.BinaryUnmarshaler).
func (p *UDPTLPacket) UnmarshalBinary(b []byte) error { return p.Unmarshal(b) }

func (p *UDPTLPacket) encode(b []byte) int {
	b[0], b[1] = byte(p.Seq>>8), byte(p.Seq)
	i := 2
	i += putOpenType(b[i:], p.Primary)
	list := p.Secondary
	if p.Recovery == RecoveryFEC {
		b[i] = 0x80
		i++
		i += putInt(b[i:], p.FECSpan)
		list = p.FEC
	} else {
		b[i] = 0x00
		i++
	}
	i += putLength(b[i:], len(list))
	for _, e := range list {
		i += putOpenType(b[i:], e)
	}
	return i
}

// readLength reads an X.691 length determinant below 16384.
func readLength(b []byte, i int) (n, next int, err error) {
	if i >= len(b) {
		return 0, i, ErrShortPacket
	}
	switch {
	case b[i]&0x80 == 0:
		return int(b[i]), i + 1, nil
	case b[i]&0x40 == 0:
		if i+1 >= len(b) {
			return 0, i, ErrShortPacket
		}
		return int(b[i]&0x3f)<<8 | int(b[i+1]), i + 2, nil
	}
	return 0, i, fmt.Errorf("%w: fragmented length", ErrTooLarge)
}

func readOpenType(b []byte, i int) ([]byte, int, error) {
	n, i, err := readLength(b, i)
	if err != nil {
		return nil, i, err
	}
	if n > len(b)-i {
		return nil, i, ErrShortPacket
	}
	return b[i : i+n : i+n], i + n, nil
}

// Unmarshal decodes a UDPTL datagram that fills b exactly. p's slices keep
// their storage and alias b afterwards. It does not allocate once
// p.Secondary or p.FEC have grown to the largest count seen.
func (p *UDPTLPacket) Unmarshal(b []byte) error {
	p.Secondary = p.Secondary[:0]
	p.FEC = p.FEC[:0]
	p.FECSpan = 0
	if len(b) < 2 {
		return ErrShortPacket
	}
	p.Seq = uint16(b[0])<<8 | uint16(b[1])
	var err error
	i := 2
	if p.Primary, i, err = readOpenType(b, i); err != nil {
		return err
	}
	if i >= len(b) {
		return ErrShortPacket
	}
	choice := b[i]
	i++
	list := &p.Secondary
	switch choice & 0x80 {
	case 0x00:
		p.Recovery = RecoverySecondary
	default:
		p.Recovery = RecoveryFEC
		list = &p.FEC
		var n int
		if n, i, err = readLength(b, i); err != nil {
			return err
		}
		if n < 1 || n > 3 || n > len(b)-i {
			return fmt.Errorf("%w: fec-npackets of %d octets", ErrMalformed, n)
		}
		if b[i]&0x80 != 0 {
			return fmt.Errorf("%w: negative fec-npackets", ErrMalformed)
		}
		for k := 0; k < n; k++ {
			p.FECSpan = p.FECSpan<<8 | int(b[i+k])
		}
		i += n
	}
	// The 7 bits after the choice are padding; like spandsp and Asterisk
	// we ignore their value.
	count, i, err := readLength(b, i)
	if err != nil {
		return err
	}
	if count > len(b)-i {
		return ErrShortPacket // every entry takes at least one octet
	}
	for k := 0; k < count; k++ {
		var e []byte
		if e, i, err = readOpenType(b, i); err != nil {
			return err
		}
		*list = append(*list, e)
	}
	if i != len(b) {
		return ErrTrailingData
	}
	return nil
}

// ErrorCorrection is a UDPTL error-correction scheme (the SDP attribute
// T38FaxUdpEC).
type ErrorCorrection uint8

// Error-correction schemes.
const (
	ECNone       ErrorCorrection = iota // no error recovery information
	ECRedundancy                        // t38UDPRedundancy: secondary IFP packets
	ECFEC                               // t38UDPFEC: XOR parity (fec.go)
)

func (e ErrorCorrection) String() string {
	switch e {
	case ECNone:
		return "none"
	case ECRedundancy:
		return "t38UDPRedundancy"
	case ECFEC:
		return "t38UDPFEC"
	}
	return "ErrorCorrection(" + strconv.Itoa(int(e)) + ")"
}

// Defaults and limits of the UDPTL sender and receiver.
const (
	// DefaultMaxDatagram is the datagram size assumed when the far end
	// states none (Asterisk and FreeSWITCH use 400).
	DefaultMaxDatagram = 400
	// DefaultDepth is the default redundancy depth (Asterisk's default).
	DefaultDepth = 3
	// MaxDepth is the deepest redundancy sent: spandsp drops datagrams
	// with 16 or more secondary packets.
	MaxDepth = 15
	// DefaultFECSpan and DefaultFECEntries are Asterisk's defaults.
	DefaultFECSpan    = 3
	DefaultFECEntries = 3
	// MaxFECEntries and MaxFECSpan are Asterisk's limits: its receiver
	// drops datagrams with more than 5 FEC entries.
	MaxFECEntries = 5
	MaxFECSpan    = 5
	// MaxFECReach is the largest FECSpan*FECEntries. spandsp and Asterisk
	// keep the last 16 packets in a ring and compute (and check) parity
	// over the wrong packets when a group reaches further back, so such
	// FEC is neither sent nor trusted on receive.
	MaxFECReach = 15
	// DefaultWindow is the receiver's default reorder window, in packets.
	DefaultWindow = 16
	// MaxWindow is the largest reorder window.
	MaxWindow = 64
	// DefaultMaxIFP is the largest IFP packet the receiver accepts by
	// default.
	DefaultMaxIFP = 4096
)

// SenderConfig configures a Sender. The zero value sends with no error
// correction, at most DefaultMaxDatagram octets per datagram, starting at
// sequence number 0.
type SenderConfig struct {
	// EC is the error-correction scheme; default ECNone.
	EC ErrorCorrection
	// Depth is the number of earlier IFP packets repeated in each datagram
	// with ECRedundancy; default DefaultDepth, at most MaxDepth.
	Depth int
	// FECSpan (packets per parity group) and FECEntries (parity entries per
	// datagram) shape ECFEC; defaults DefaultFECSpan and DefaultFECEntries,
	// at most MaxFECSpan and MaxFECEntries, and their product at most
	// MaxFECReach.
	FECSpan, FECEntries int
	// MaxDatagram is the far end's T38FaxMaxDatagram: no datagram is ever
	// longer. Default DefaultMaxDatagram; see NormalizeMaxDatagram for the
	// values peers send.
	MaxDatagram int
	// FirstSeq is the sequence number of the first datagram; default 0.
	FirstSeq uint16
}

func (c *SenderConfig) fill() error {
	if c.Depth == 0 {
		c.Depth = DefaultDepth
	}
	if c.FECSpan == 0 {
		c.FECSpan = DefaultFECSpan
	}
	if c.FECEntries == 0 {
		c.FECEntries = DefaultFECEntries
	}
	if c.MaxDatagram == 0 {
		c.MaxDatagram = DefaultMaxDatagram
	}
	switch {
	case c.EC > ECFEC:
		return fmt.Errorf("%w: error correction %d", ErrInvalid, c.EC)
	case c.Depth < 0 || c.Depth > MaxDepth:
		return fmt.Errorf("%w: redundancy depth %d (1..%d)", ErrInvalid, c.Depth, MaxDepth)
	case c.FECSpan < 0 || c.FECSpan > MaxFECSpan:
		return fmt.Errorf("%w: FEC span %d (1..%d)", ErrInvalid, c.FECSpan, MaxFECSpan)
	case c.FECEntries < 0 || c.FECEntries > MaxFECEntries:
		return fmt.Errorf("%w: FEC entries %d (1..%d)", ErrInvalid, c.FECEntries, MaxFECEntries)
	case c.FECSpan*c.FECEntries > MaxFECReach:
		return fmt.Errorf("%w: FEC span %d x entries %d beyond %d", ErrInvalid, c.FECSpan, c.FECEntries, MaxFECReach)
	case c.MaxDatagram < 8 || c.MaxDatagram > 65507:
		return fmt.Errorf("%w: max datagram %d", ErrInvalid, c.MaxDatagram)
	}
	return nil
}

// SenderStats counts what a Sender sent.
type SenderStats struct {
	Packets uint64 // datagrams built
	Octets  uint64 // octets in them
	// Reduced counts datagrams that carried less redundancy or FEC than
	// configured, to stay within MaxDatagram.
	Reduced uint64
}

const txHistory = 32 // >= MaxDepth+1 and >= MaxFECReach+1

// Sender builds UDPTL datagrams around IFP packets: it numbers them, keeps
// the recent history and adds redundancy or FEC so that no datagram
// exceeds the far end's maximum. A Sender is not safe for concurrent use.
type Sender struct {
	cfg   SenderConfig
	seq   uint16
	sent  uint64 // IFP packets sent
	hist  [txHistory][]byte
	pkt   UDPTLPacket
	fec   [MaxFECEntries][]byte
	stats SenderStats
}

// NewSender returns a Sender for cfg.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, seq: cfg.FirstSeq}
	s.pkt.Secondary = make([][]byte, 0, MaxDepth)
	s.pkt.FEC = make([][]byte, 0, MaxFECEntries)
	return s, nil
}

// Config returns the sender's configuration with defaults filled in.
func (s *Sender) Config() SenderConfig { return s.cfg }

// Stats returns the sender's counters.
func (s *Sender) Stats() SenderStats { return s.stats }

// NextSeq returns the sequence number the next datagram will carry.
func (s *Sender) NextSeq() uint16 { return s.seq }

// SetDepth changes the redundancy depth from the next datagram on, e.g. to
// protect indicators and control data more deeply than image data (as
// spandsp's per-category redundancy and T38FaxUdpECDepth's min/max do).
// It has effect only with ECRedundancy.
func (s *Sender) SetDepth(depth int) error {
	if depth < 0 || depth > MaxDepth {
		return fmt.Errorf("%w: redundancy depth %d (0..%d)", ErrInvalid, depth, MaxDepth)
	}
	s.cfg.Depth = depth
	return nil
}

// MaxIFP returns the largest IFP packet that fits a datagram on its own
// (with no error recovery information).
func (s *Sender) MaxIFP() int {
	tail := 2 // 0x00 + empty count
	if s.cfg.EC == ECFEC {
		tail = 4 // 0x80, fec-npackets 01 00, empty count
	}
	n := s.cfg.MaxDatagram - 2 - tail - 1
	if n >= 0x80 {
		n--
	}
	return min(n, 0x3fff)
}

// IFPBudget returns the largest IFP packet size with which a datagram
// still carries the full configured redundancy or FEC, assuming the
// packets it repeats are as large. A terminal that chunks its data to this
// size keeps its error correction; larger packets (up to MaxIFP) are sent
// with less.
func (s *Sender) IFPBudget() int {
	copies := 1
	fixed := 2 + 1 + 1 // seq, choice, count
	switch s.cfg.EC {
	case ECRedundancy:
		copies += s.cfg.Depth
	case ECFEC:
		copies += s.cfg.FECEntries
		fixed += 2
	}
	for l := s.MaxIFP(); l > 0; l-- {
		if fixed+copies*openTypeSize(l) <= s.cfg.MaxDatagram {
			return l
		}
	}
	return 0
}

func (s *Sender) histAt(n uint64) []byte { return s.hist[n%txHistory] }

// Append builds the next datagram carrying ifp (one encoded IFP packet),
// appends it to dst and returns the extended slice. It fails with
// ErrTooLarge, sending nothing and consuming no sequence number, when ifp
// alone does not fit MaxDatagram. With dst of enough capacity it does not
// allocate once its history buffers have grown.
func (s *Sender) Append(dst, ifp []byte) ([]byte, error) {
	if len(ifp) == 0 {
		return dst, fmt.Errorf("%w: empty IFP packet", ErrInvalid)
	}
	if len(ifp) > s.MaxIFP() {
		return dst, fmt.Errorf("%w: IFP packet of %d octets, at most %d fit a %d-octet datagram",
			ErrTooLarge, len(ifp), s.MaxIFP(), s.cfg.MaxDatagram)
	}
	p := &s.pkt
	p.Seq = s.seq
	p.Primary = ifp
	p.Secondary = p.Secondary[:0]
	p.FEC = p.FEC[:0]
	p.FECSpan = 0
	p.Recovery = RecoverySecondary
	reduced := false
	switch s.cfg.EC {
	case ECRedundancy:
		want := int(min(uint64(s.cfg.Depth), s.sent))
		size := 2 + openTypeSize(len(ifp)) + 1 + 1
		for i := 0; i < want; i++ {
			h := s.histAt(s.sent - 1 - uint64(i))
			add := openTypeSize(len(h))
			if size+add > s.cfg.MaxDatagram {
				reduced = true
				break
			}
			size += add
			p.Secondary = append(p.Secondary, h)
		}
	case ECFEC:
		p.Recovery = RecoveryFEC
		reduced = s.buildFEC(len(ifp))
	}
	// Record the packet for later redundancy and parity.
	slot := &s.hist[s.sent%txHistory]
	*slot = append((*slot)[:0], ifp...)
	out, err := p.AppendBinary(dst)
	if err != nil {
		return dst, err
	}
	s.seq++
	s.sent++
	s.stats.Packets++
	s.stats.Octets += uint64(len(out) - len(dst))
	if reduced {
		s.stats.Reduced++
	}
	return out, nil
}

// Recovered says how a delivered IFP packet reached the receiver.
type Recovered uint8

// How a packet was obtained.
const (
	RecoveredNone       Recovered = iota // the datagram's primary packet
	RecoveredRedundancy                  // a secondary packet of a later datagram
	RecoveredFEC                         // rebuilt from FEC parity
)

func (r Recovered) String() string {
	switch r {
	case RecoveredNone:
		return "primary"
	case RecoveredRedundancy:
		return "redundancy"
	case RecoveredFEC:
		return "fec"
	}
	return "Recovered(" + strconv.Itoa(int(r)) + ")"
}

// Rollover says how the far end's 16-bit sequence numbers wrap.
type Rollover uint8

// Sequence number rollover behaviours.
const (
	// RolloverAuto wraps from 65535 to 0, unless the first datagram after
	// 65535 is numbered 1 and its redundancy shows that 0 was skipped.
	RolloverAuto Rollover = iota
	RolloverToZero
	// RolloverToOne: the peer numbers 65535, 1, 2, ... (seen in the field).
	RolloverToOne
)

func (r Rollover) String() string {
	switch r {
	case RolloverAuto:
		return "auto"
	case RolloverToZero:
		return "to-zero"
	case RolloverToOne:
		return "to-one"
	}
	return "Rollover(" + strconv.Itoa(int(r)) + ")"
}

// ReceiverConfig configures a Receiver. The zero value works.
type ReceiverConfig struct {
	// Version is the negotiated T.38 version, used to find the length of
	// packets rebuilt from FEC parity. Default 0 (either works for every
	// packet except version 0 multi-field ones).
	Version Version
	// Window is how many packets may arrive after a missing one before it
	// is declared lost; it bounds reordering and how far FEC can reach.
	// Default DefaultWindow, at most MaxWindow.
	Window int
	// MaxIFP is the largest IFP packet accepted; datagrams with larger
	// primaries are rejected and larger recovery entries ignored. Default
	// DefaultMaxIFP.
	MaxIFP int
	// Rollover is the peer's sequence number rollover; default RolloverAuto.
	Rollover Rollover
	// ResyncGap: a sequence number jump of more than this many packets
	// (forward or back) restarts the sequence instead of counting the
	// packets between as lost. Default 2000 (as spandsp).
	ResyncGap int
}

func (c *ReceiverConfig) fill() error {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MaxIFP == 0 {
		c.MaxIFP = DefaultMaxIFP
	}
	if c.ResyncGap == 0 {
		c.ResyncGap = 2000
	}
	switch {
	case c.Version > MaxVersion:
		return fmt.Errorf("%w: T.38 version %d", ErrInvalid, c.Version)
	case c.Window < 1 || c.Window > MaxWindow:
		return fmt.Errorf("%w: window %d (1..%d)", ErrInvalid, c.Window, MaxWindow)
	case c.MaxIFP < 1 || c.MaxIFP > 0x3fff:
		return fmt.Errorf("%w: max IFP %d", ErrInvalid, c.MaxIFP)
	case c.Rollover > RolloverToOne:
		return fmt.Errorf("%w: rollover %d", ErrInvalid, c.Rollover)
	case c.ResyncGap < 2*MaxWindow || c.ResyncGap > 30000:
		return fmt.Errorf("%w: resync gap %d", ErrInvalid, c.ResyncGap)
	}
	return nil
}

// ReceiverStats are the counters a gateway operator watches.
type ReceiverStats struct {
	Packets    uint64 // well-formed datagrams received
	Malformed  uint64 // datagrams that did not decode (or were too large)
	Delivered  uint64 // IFP packets delivered, in order, once each
	Recovered  uint64 // of those, rebuilt from redundancy or FEC
	Redundancy uint64 // of Recovered, from secondary packets
	FEC        uint64 // of Recovered, from FEC parity
	Lost       uint64 // packets declared unrecoverable
	Gaps       uint64 // runs of consecutive lost packets reported
	Duplicates uint64 // datagrams whose primary had already arrived
	Late       uint64 // datagrams that arrived after their packet was declared lost
	Resyncs    uint64 // sequence restarts (jumps beyond ResyncGap)
}

// Delivery is one event from the Receiver: an IFP packet, or a gap.
type Delivery struct {
	// Seq is the packet's sequence number; for a gap, that of the first
	// lost packet.
	Seq uint16
	// IFP is the encoded IFP packet; nil for a gap. It stays valid until
	// the next call of Push or Flush.
	IFP []byte
	// Recovered says whether the packet came from error recovery.
	Recovered Recovered
	// Lost, when non-zero, makes this a gap report: Lost consecutive
	// packets starting at Seq could not be recovered.
	Lost int
}

const (
	rxRing = 128 // > MaxWindow + the farthest FEC reach used
	// maxRxFECEntries bounds the parity kept per datagram.
	maxRxFECEntries = 8
	// rxKeep: how far ahead of the next packet to deliver a datagram may
	// be before older packets are forced out (so the ring never overwrites
	// an undelivered packet or one FEC may still need).
	rxKeep = rxRing - MaxWindow
)

type slotState uint8

const (
	slotEmpty slotState = iota
	slotHave
	slotLost
)

type rxSlot struct {
	idx       int64 // logical index held; the slot is stale when it differs
	state     slotState
	received  bool // the primary itself arrived
	delivered bool
	recovered Recovered
	buf       []byte
	// FEC carried by this datagram.
	fecSpan, fecEntries int
	fecDone             uint32
	fec                 [maxRxFECEntries][]byte
}

// Receiver takes UDPTL datagrams in whatever order the network delivers
// them and hands out their IFP packets in order, exactly once, rebuilding
// lost ones from redundancy or FEC (whichever each datagram carries) and
// reporting those it could not rebuild. A Receiver is not safe for
// concurrent use.
//
// Sequence numbers may start anywhere and wrap (to 0, or to 1 for peers
// that skip 0). Packets are delivered as soon as every earlier one has
// been delivered or declared lost; a missing packet is declared lost once
// Window later packets have arrived, or by Flush (call it when the peer
// goes quiet: the receiver itself keeps no clock).
type Receiver struct {
	cfg      ReceiverConfig
	started  bool
	skipZero bool
	lastSeq  uint16 // sequence number of highest
	highest  int64  // highest logical index seen
	next     int64  // next logical index to deliver
	lastLost int64  // last logical index declared lost
	ring     [rxRing]rxSlot
	pkt      UDPTLPacket
	scratch  IFP // for trimming packets rebuilt from FEC
	out      []outEntry
	outHead  int
	stats    ReceiverStats
}

type outEntry struct {
	d   Delivery
	buf []byte
}

// NewReceiver returns a Receiver for cfg.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	r := &Receiver{cfg: cfg, skipZero: cfg.Rollover == RolloverToOne}
	for i := range r.ring {
		r.ring[i].idx = -1
	}
	return r, nil
}

// Stats returns the receiver's counters.
func (r *Receiver) Stats() ReceiverStats { return r.stats }

// slot returns the slot holding logical index idx, or nil.
func (r *Receiver) slot(idx int64) *rxSlot {
	if idx < 0 {
		return nil
	}
	s := &r.ring[idx%rxRing]
	if s.idx != idx {
		return nil
	}
	return s
}

// initSlot claims the slot for idx, clearing what it held.
func (r *Receiver) initSlot(idx int64) *rxSlot {
	s := &r.ring[idx%rxRing]
	if s.idx != idx {
		s.idx = idx
		s.state = slotEmpty
		s.received, s.delivered = false, false
		s.recovered = RecoveredNone
		s.buf = s.buf[:0]
		s.fecSpan, s.fecEntries, s.fecDone = 0, 0, 0
	}
	return s
}

// seqOf returns the sequence number of logical index idx.
func (r *Receiver) seqOf(idx int64) uint16 {
	d := r.highest - idx
	if r.skipZero && r.lastSeq != 0 {
		pos := (int64(r.lastSeq) - 1 - d) % 65535
		if pos < 0 {
			pos += 65535
		}
		return uint16(pos + 1)
	}
	return r.lastSeq - uint16(d)
}

// delta returns the signed distance from the highest sequence number seen
// to seq.
func (r *Receiver) delta(seq uint16) int64 {
	if r.skipZero && seq != 0 && r.lastSeq != 0 {
		d := (int64(seq) - int64(r.lastSeq)) % 65535
		if d > 32767 {
			d -= 65535
		} else if d < -32767 {
			d += 65535
		}
		return d
	}
	return int64(int16(seq - r.lastSeq))
}

// Push takes one received datagram. Its IFP packets, and reports of the
// ones lost, are then read with Next. b is not retained. A datagram that
// does not decode is counted and its error returned; the receiver's state
// is unchanged by it.
func (r *Receiver) Push(b []byte) error {
	r.resetOut()
	p := &r.pkt
	if err := p.Unmarshal(b); err != nil {
		r.stats.Malformed++
		return err
	}
	if len(p.Primary) > r.cfg.MaxIFP {
		r.stats.Malformed++
		return fmt.Errorf("%w: IFP packet of %d octets (limit %d)", ErrTooLarge, len(p.Primary), r.cfg.MaxIFP)
	}
	r.stats.Packets++
	if !r.started {
		r.start(p)
	}
	d := r.delta(p.Seq)
	if d > 1 && p.Seq != 0 && int(r.lastSeq)+int(d) > 0xffff && r.cfg.Rollover == RolloverAuto &&
		!r.skipZero && r.skippedZero(p, r.highest+d) {
		r.skipZero = true
		d--
	}
	idx := r.highest + d
	if d > int64(r.cfg.ResyncGap) || idx < r.next-int64(r.cfg.ResyncGap) {
		r.stats.Resyncs++
		r.flush()
		r.start(p)
		idx = r.highest + r.delta(p.Seq)
	}
	if idx < r.next {
		r.old(idx, p.Primary)
		return nil
	}
	// Keep every undelivered packet, and what FEC may still need, in the
	// ring. The window itself is applied after this datagram's recovery
	// information has been used (drain), so deep redundancy can still
	// rebuild a packet that is about to leave the window.
	if keep := int64(rxKeep); idx-r.next >= keep {
		r.advance(idx - keep + 1)
	}
	if idx > r.highest {
		from := max(r.highest+1, idx-rxRing+1)
		for i := from; i <= idx; i++ {
			r.initSlot(i)
		}
		r.highest = idx
		r.lastSeq = p.Seq
	}
	s := r.initSlot(idx)
	if s.received {
		r.stats.Duplicates++
		return nil
	}
	s.received = true
	fresh := s.state != slotHave
	if fresh {
		s.buf = append(s.buf[:0], p.Primary...)
		s.state = slotHave
		s.recovered = RecoveredNone
	}
	switch p.Recovery {
	case RecoverySecondary:
		for i, e := range p.Secondary {
			j := idx - 1 - int64(i)
			if j < r.next || idx-j >= rxRing {
				break
			}
			if len(e) == 0 || len(e) > r.cfg.MaxIFP {
				continue
			}
			t := r.initSlot(j)
			if t.state != slotHave {
				t.buf = append(t.buf[:0], e...)
				t.state = slotHave
				t.recovered = RecoveredRedundancy
				fresh = true
			}
		}
	case RecoveryFEC:
		r.storeFEC(s, p)
	}
	if fresh || s.fecEntries > 0 {
		r.repair()
	}
	r.drain(false)
	return nil
}

// start (re)starts the sequence at p. Secondary packets in the first
// datagram are packets sent before it, so they are delivered too.
func (r *Receiver) start(p *UDPTLPacket) {
	r.started = true
	base := int64(1) << 20
	if r.highest >= base {
		base = r.highest + rxRing + 1
	}
	back := 0
	if p.Recovery == RecoverySecondary {
		back = min(len(p.Secondary), rxKeep/2)
	}
	r.next = base - int64(back)
	r.highest = base - 1
	r.lastSeq = p.Seq - 1
	if r.skipZero && p.Seq == 1 {
		r.lastSeq = 0xffff
	}
}

// skippedZero reports whether datagram p, whose sequence number passed 0
// and which would be at logical index idx if 0 was used, comes from a peer
// that skips 0: its secondary packets contradict the packets held when
// numbered with 0 and agree when numbered without it.
func (r *Receiver) skippedZero(p *UDPTLPacket, idx int64) bool {
	if p.Recovery != RecoverySecondary {
		return false
	}
	_, bad := r.agree(p, idx)
	good, bad1 := r.agree(p, idx-1)
	return bad > 0 && good > 0 && bad1 == 0
}

// agree compares p's secondary packets, placed as if p were at idx, with
// the packets held and counts agreements and contradictions.
func (r *Receiver) agree(p *UDPTLPacket, idx int64) (good, bad int) {
	for i, e := range p.Secondary {
		s := r.slot(idx - 1 - int64(i))
		if s == nil || s.state != slotHave || len(e) == 0 {
			continue
		}
		if bytes.Equal(e, s.buf) {
			good++
		} else {
			bad++
		}
	}
	return good, bad
}

// old handles a datagram whose packet was already delivered or declared
// lost. A late packet still helps FEC rebuild later ones.
func (r *Receiver) old(idx int64, primary []byte) {
	s := r.slot(idx)
	switch {
	case s != nil && s.received:
		r.stats.Duplicates++
	case s != nil && s.state == slotHave:
		s.received = true // arrived after it was recovered: not news
	default:
		r.stats.Late++
		if s != nil && s.state == slotLost && r.highest-idx < rxRing {
			s.buf = append(s.buf[:0], primary...)
			s.state = slotHave
			s.received = true
			r.repair()
			r.drain(false)
		}
	}
}

func (r *Receiver) storeFEC(s *rxSlot, p *UDPTLPacket) {
	span, entries := p.FECSpan, len(p.FEC)
	if span < 1 || entries < 1 || entries > maxRxFECEntries || span*entries > MaxFECReach {
		return
	}
	for _, e := range p.FEC {
		if len(e) > r.cfg.MaxIFP {
			return
		}
	}
	s.fecSpan, s.fecEntries, s.fecDone = span, entries, 0
	for m, e := range p.FEC {
		s.fec[m] = append(s.fec[m][:0], e...)
	}
}

// advance declares every packet before idx delivered or lost.
func (r *Receiver) advance(idx int64) {
	for ; r.next < idx; r.next++ {
		r.emit(r.next, true)
	}
}

// drain delivers what is ready; with all, it declares every missing
// packet up to the highest seen lost.
func (r *Receiver) drain(all bool) {
	for r.next <= r.highest {
		force := all || r.highest-r.next >= int64(r.cfg.Window)
		if !r.emit(r.next, force) {
			return
		}
		r.next++
	}
}

// emit delivers packet idx if present, or with force declares it lost. It
// reports whether idx was dealt with.
func (r *Receiver) emit(idx int64, force bool) bool {
	s := r.slot(idx)
	if s != nil && s.state == slotHave {
		if !s.delivered {
			s.delivered = true
			e := r.push()
			e.buf = append(e.buf[:0], s.buf...)
			e.d = Delivery{Seq: r.seqOf(idx), IFP: e.buf, Recovered: s.recovered}
			r.stats.Delivered++
			switch s.recovered {
			case RecoveredRedundancy:
				r.stats.Recovered++
				r.stats.Redundancy++
			case RecoveredFEC:
				r.stats.Recovered++
				r.stats.FEC++
			}
		}
		return true
	}
	if !force {
		return false
	}
	if s == nil && r.highest-idx < rxRing {
		s = r.initSlot(idx)
	}
	if s != nil {
		s.state = slotLost
	}
	r.gap(idx, 1)
	return true
}

// gap reports n lost packets from idx, merging with a gap just reported.
func (r *Receiver) gap(idx int64, n int) {
	r.stats.Lost += uint64(n)
	if idx != r.lastLost+1 || r.lastLost == 0 {
		r.stats.Gaps++
	}
	r.lastLost = idx + int64(n) - 1
	if k := len(r.out); k > r.outHead {
		last := &r.out[k-1].d
		if last.Lost > 0 && r.seqOf(idx) == last.Seq+uint16(last.Lost) {
			last.Lost += n
			return
		}
	}
	e := r.push()
	e.d = Delivery{Seq: r.seqOf(idx), Lost: n}
}

func (r *Receiver) push() *outEntry {
	if len(r.out) < cap(r.out) {
		r.out = r.out[:len(r.out)+1]
	} else {
		r.out = append(r.out, outEntry{})
	}
	return &r.out[len(r.out)-1]
}

func (r *Receiver) resetOut() {
	if r.outHead >= len(r.out) {
		r.out = r.out[:0]
		r.outHead = 0
	}
}

func (r *Receiver) flush() {
	r.drain(true)
}

// Flush declares every packet still missing up to the highest received
// lost, so that everything received is delivered. Call it when the peer
// has gone quiet (the receiver keeps no clock) and at the end of a call.
func (r *Receiver) Flush() {
	r.resetOut()
	r.flush()
}

// Next returns the next delivery, in sequence order, and false when there
// is none. Deliveries stay valid until the next Push or Flush.
func (r *Receiver) Next() (Delivery, bool) {
	if r.outHead >= len(r.out) {
		return Delivery{}, false
	}
	d := r.out[r.outHead].d
	r.outHead++
	return d, true
}
