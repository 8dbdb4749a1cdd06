package t38

import (
	"errors"
	"fmt"
	"strconv"
)

// Version is the ITU-T T.38 version negotiated for a call (T38FaxVersion).
// Versions 0 to 3 are defined; the IFP encoding differs only between
// version 0 and the later ones (see the package documentation).
type Version uint8

// MaxVersion is the highest T.38 version this package implements.
const MaxVersion Version = 3

// MsgType is the IFP type-of-msg choice.
type MsgType uint8

// The two kinds of IFP packet (T.38 clause 7.4, type-of-msg).
const (
	TypeIndicator MsgType = iota // t30-indicator
	TypeData                     // t30-data
)

func (t MsgType) String() string {
	switch t {
	case TypeIndicator:
		return "t30-indicator"
	case TypeData:
		return "t30-data"
	}
	return "MsgType(" + strconv.Itoa(int(t)) + ")"
}

// Indicator is a T30-indicator value (T.38 clause 7.4 and the ASN.1 of
// annex A). Values 0 to 15 are the root of the extensible enumeration;
// IndV8ANSAM and later are extension additions that only version 1 and later
// can send.
type Indicator uint8

// T30-indicator values, in ASN.1 order.
const (
	IndNoSignal Indicator = iota
	IndCNG
	IndCED
	IndV21Preamble
	IndV27_2400Training
	IndV27_4800Training
	IndV29_7200Training
	IndV29_9600Training
	IndV17_7200ShortTraining
	IndV17_7200LongTraining
	IndV17_9600ShortTraining
	IndV17_9600LongTraining
	IndV17_12000ShortTraining
	IndV17_12000LongTraining
	IndV17_14400ShortTraining
	IndV17_14400LongTraining
	IndV8ANSAM
	IndV8Signal
	IndV34CntlChannel1200
	IndV34PriChannel
	IndV34CCRetrain
	IndV33_12000Training
	IndV33_14400Training
)

const (
	numRootIndicators = 16
	numIndicators     = 23
)

var indicatorNames = [numIndicators]string{
	"no-signal", "cng", "ced", "v21-preamble",
	"v27-2400-training", "v27-4800-training", "v29-7200-training", "v29-9600-training",
	"v17-7200-short-training", "v17-7200-long-training", "v17-9600-short-training", "v17-9600-long-training",
	"v17-12000-short-training", "v17-12000-long-training", "v17-14400-short-training", "v17-14400-long-training",
	"v8-ansam", "v8-signal", "v34-cntl-channel-1200", "v34-pri-channel", "v34-CC-retrain",
	"v33-12000-training", "v33-14400-training",
}

// String returns the ASN.1 name of the indicator, or Indicator(N) for a value
// this package does not know.
func (i Indicator) String() string {
	if int(i) < len(indicatorNames) {
		return indicatorNames[i]
	}
	return "Indicator(" + strconv.Itoa(int(i)) + ")"
}

// Known reports whether i is a value defined by T.38.
func (i Indicator) Known() bool { return i < numIndicators }

// DataType is a T30-data value: the modulation whose data an IFP data packet
// carries. V21 to V17_14400 are the root; V8 and later are extension
// additions (version 1 and later).
type DataType uint8

// T30-data values, in ASN.1 order.
const (
	DataV21 DataType = iota
	DataV27_2400
	DataV27_4800
	DataV29_7200
	DataV29_9600
	DataV17_7200
	DataV17_9600
	DataV17_12000
	DataV17_14400
	DataV8
	DataV34PriRate
	DataV34CC1200
	DataV34PriCh
	DataV33_12000
	DataV33_14400
)

const (
	numRootDataTypes = 9
	numDataTypes     = 15
	// unknownRootDataType is added to an undefined root data type value
	// (9..15) so that it reads as DataType(137..143), not as an extension.
	unknownRootDataType = 128
)

var dataTypeNames = [numDataTypes]string{
	"v21", "v27-2400", "v27-4800", "v29-7200", "v29-9600",
	"v17-7200", "v17-9600", "v17-12000", "v17-14400",
	"v8", "v34-pri-rate", "v34-CC-1200", "v34-pri-ch", "v33-12000", "v33-14400",
}

// String returns the ASN.1 name of the data type, or DataType(N).
func (d DataType) String() string {
	if int(d) < len(dataTypeNames) {
		return dataTypeNames[d]
	}
	return "DataType(" + strconv.Itoa(int(d)) + ")"
}

// Known reports whether d is a value defined by T.38.
func (d DataType) Known() bool { return d < numDataTypes }

// FieldType is the field-type of one element of an IFP data-field.
// HDLCData to T4NonECMSigEnd are the root; CMMessage and later are the V.34
// extension additions (version 1 and later).
type FieldType uint8

// Field-type values, in ASN.1 order.
const (
	FieldHDLCData FieldType = iota
	FieldHDLCSigEnd
	FieldHDLCFCSOK
	FieldHDLCFCSBad
	FieldHDLCFCSOKSigEnd
	FieldHDLCFCSBadSigEnd
	FieldT4NonECMData
	FieldT4NonECMSigEnd
	FieldCMMessage
	FieldJMMessage
	FieldCIMessage
	FieldV34Rate
)

const (
	numRootFieldTypes = 8
	numFieldTypes     = 12
)

var fieldTypeNames = [numFieldTypes]string{
	"hdlc-data", "hdlc-sig-end", "hdlc-fcs-OK", "hdlc-fcs-BAD",
	"hdlc-fcs-OK-sig-end", "hdlc-fcs-BAD-sig-end", "t4-non-ecm-data", "t4-non-ecm-sig-end",
	"cm-message", "jm-message", "ci-message", "v34rate",
}

// String returns the ASN.1 name of the field type, or FieldType(N).
func (f FieldType) String() string {
	if int(f) < len(fieldTypeNames) {
		return fieldTypeNames[f]
	}
	return "FieldType(" + strconv.Itoa(int(f)) + ")"
}

// Known reports whether f is a value defined by T.38.
func (f FieldType) Known() bool { return f < numFieldTypes }

// Errors returned by the IFP, UDPTL and SDP code. Typed errors wrap these, so
// errors.Is works on every error this package returns.
var (
	// ErrShortPacket: the packet ended before its encoding did.
	ErrShortPacket = errors.New("t38: packet too short")
	// ErrMalformed: the bytes are not a valid encoding.
	ErrMalformed = errors.New("t38: malformed packet")
	// ErrTrailingData: a complete encoding was followed by extra octets.
	ErrTrailingData = errors.New("t38: trailing data after packet")
	// ErrUnknownValue: an indicator, data type or field type this package
	// does not know (a later extension). The packet was decoded as far as
	// possible; see UnknownValueError.
	ErrUnknownValue = errors.New("t38: unknown value")
	// ErrVersion: the value cannot be sent in the selected T.38 version.
	ErrVersion = errors.New("t38: value not available in this T.38 version")
	// ErrTooLarge: a length is beyond what the encoding or the datagram
	// limit allows.
	ErrTooLarge = errors.New("t38: too large")
	// ErrBufferTooSmall: MarshalTo's buffer cannot hold the encoding.
	ErrBufferTooSmall = errors.New("t38: buffer too small")
	// ErrInvalid: a value the encoder cannot represent (unknown enum,
	// empty packet, out-of-range configuration).
	ErrInvalid = errors.New("t38: invalid value")
)

// UnknownValueError reports an enumeration value outside those T.38
// defines. It wraps ErrUnknownValue.
type UnknownValueError struct {
	What  string // "indicator", "data type" or "field type"
	Value int
}

func (e *UnknownValueError) Error() string {
	return fmt.Sprintf("t38: unknown %s value %d", e.What, e.Value)
}

func (e *UnknownValueError) Unwrap() error { return ErrUnknownValue }

// Field is one element of an IFP data-field. Data holds the field-data in
// the IFP's own bit order (see BitReverse); nil or empty means the optional
// field-data is absent.
type Field struct {
	Type FieldType
	Data []byte
}

// IFP is one T.38 Internet Facsimile Protocol packet (T.38 clause 7 and the
// ASN.1 of annex A), encoded with the basic aligned variant of X.691 PER:
//
//	IFPPacket ::= SEQUENCE {
//	    type-of-msg Type-of-msg,                -- CHOICE: t30-indicator | t30-data
//	    data-field  Data-Field OPTIONAL }       -- SEQUENCE OF SEQUENCE {
//	                                            --   field-type ENUMERATED {...},
//	                                            --   field-data OCTET STRING (SIZE(1..65535)) OPTIONAL }
//
//	octet 0:  bit 7 data-field present, bit 6 choice (0 indicator, 1 data),
//	          bit 5 extension bit, bits 4..1 root value   (1 octet)
//	          or bit 5 set and a 6-bit extension index     (2 octets)
//	then, when data-field is present: field count (PER length determinant),
//	and per field: presence bit, [extension bit,] field-type, and when
//	present the field-data length-1 as 2 octets followed by the octets.
//
// Version selects the encoding; set it before Marshal or Unmarshal (Unmarshal
// does not change it). The zero IFP is a version 0 no-signal indicator.
type IFP struct {
	Version   Version
	Type      MsgType
	Indicator Indicator // when Type == TypeIndicator
	DataType  DataType  // when Type == TypeData
	// Fields of a data packet. A data packet with no fields is encoded
	// without a data-field. Unmarshal reuses this slice's storage.
	Fields []Field
}

// MarshalSize returns the length of p's encoding, or 0 when p cannot be
// encoded (MarshalTo reports why).
func (p *IFP) MarshalSize() int {
	n, err := p.size()
	if err != nil {
		return 0
	}
	return n
}

func (p *IFP) size() (int, error) {
	switch p.Type {
	case TypeIndicator:
		if !p.Indicator.Known() {
			return 0, &UnknownValueError{"indicator", int(p.Indicator)}
		}
		if p.Indicator < numRootIndicators {
			return 1, nil
		}
		if p.Version == 0 {
			return 0, fmt.Errorf("%w: indicator %v", ErrVersion, p.Indicator)
		}
		return 2, nil
	case TypeData:
	default:
		return 0, fmt.Errorf("%w: message type %d", ErrInvalid, p.Type)
	}
	if !p.DataType.Known() {
		return 0, &UnknownValueError{"data type", int(p.DataType)}
	}
	n := 1
	if p.DataType >= numRootDataTypes {
		if p.Version == 0 {
			return 0, fmt.Errorf("%w: data type %v", ErrVersion, p.DataType)
		}
		n = 2
	}
	if len(p.Fields) == 0 {
		return n, nil
	}
	if len(p.Fields) >= 0x4000 {
		return 0, fmt.Errorf("%w: %d fields", ErrTooLarge, len(p.Fields))
	}
	n += lengthSize(len(p.Fields))
	half := false // version 0: a field without data leaves half an octet
	for i := range p.Fields {
		f := &p.Fields[i]
		if !f.Type.Known() {
			return 0, &UnknownValueError{"field type", int(f.Type)}
		}
		if len(f.Data) > 65535 {
			return 0, fmt.Errorf("%w: field data of %d octets", ErrTooLarge, len(f.Data))
		}
		if p.Version == 0 {
			if f.Type >= numRootFieldTypes {
				return 0, fmt.Errorf("%w: field type %v", ErrVersion, f.Type)
			}
			if half {
				n++ // this field completes the octet
				half = false
			} else if len(f.Data) == 0 {
				half = true
			} else {
				n++
			}
		} else if f.Type >= numRootFieldTypes {
			n += 2
		} else {
			n++
		}
		if len(f.Data) > 0 {
			n += 2 + len(f.Data)
		}
	}
	if half {
		n++
	}
	return n, nil
}

// lengthSize is the size of an X.691 unconstrained length determinant for
// n < 16384.
func lengthSize(n int) int {
	if n < 0x80 {
		return 1
	}
	return 2
}

func putLength(b []byte, n int) int {
	if n < 0x80 {
		b[0] = byte(n)
		return 1
	}
	b[0] = 0x80 | byte(n>>8)
	b[1] = byte(n)
	return 2
}

// MarshalTo encodes p into buf and returns the number of octets written.
// It does not allocate.
func (p *IFP) MarshalTo(buf []byte) (int, error) {
	n, err := p.size()
	if err != nil {
		return 0, err
	}
	if len(buf) < n {
		return 0, ErrBufferTooSmall
	}
	p.encode(buf[:n])
	return n, nil
}

// AppendBinary appends p's encoding to b (encoding.BinaryAppender).
func (p *IFP) AppendBinary(b []byte) ([]byte, error) {
	n, err := p.size()
	if err != nil {
		return b, err
	}
	off := len(b)
	b = grow(b, n)
	p.encode(b[off : off+n])
	return b, nil
}

// MarshalBinary returns p's encoding (encoding.BinaryMarshaler).
func (p *IFP) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary is Unmarshal (encoding.BinaryUnmarshaler).
func (p *IFP) UnmarshalBinary(b []byte) error { return p.Unmarshal(b) }

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// encode writes exactly p.size() octets into b. The layouts follow
// spandsp's t38_core (the reference deployed implementation) octet for
// octet; see the package documentation for where that departs from a
// strict reading of X.691.
func (p *IFP) encode(b []byte) {
	if p.Type == TypeIndicator {
		if p.Indicator < numRootIndicators {
			b[0] = byte(p.Indicator) << 1
		} else {
			ext := byte(p.Indicator - numRootIndicators)
			b[0] = 0x20 | ext>>2
			b[1] = ext << 6
		}
		return
	}
	var present byte
	if len(p.Fields) > 0 {
		present = 0x80
	}
	i := 1
	if p.DataType < numRootDataTypes {
		b[0] = present | 0x40 | byte(p.DataType)<<1
	} else {
		ext := byte(p.DataType - numRootDataTypes)
		b[0] = present | 0x60 | ext>>2
		b[1] = ext << 6
		i = 2
	}
	if len(p.Fields) == 0 {
		return
	}
	i += putLength(b[i:], len(p.Fields))
	half := false
	for k := range p.Fields {
		f := &p.Fields[k]
		var fp byte
		if len(f.Data) > 0 {
			fp = 1
		}
		switch {
		case p.Version == 0 && half:
			// Version 0 field: 1 presence bit + 3 type bits; after a field
			// with no data the next one takes the low half of the octet.
			b[i] |= fp<<3 | byte(f.Type)
			i++
			half = false
		case p.Version == 0:
			b[i] = fp<<7 | byte(f.Type)<<4
			if fp == 0 {
				half = true
			} else {
				i++
			}
		case f.Type < numRootFieldTypes:
			b[i] = fp<<7 | byte(f.Type)<<3
			i++
		default:
			ext := byte(f.Type - numRootFieldTypes)
			b[i] = fp<<7 | 0x40 | ext>>2
			b[i+1] = ext << 6
			i += 2
		}
		if fp != 0 {
			l := len(f.Data) - 1
			b[i] = byte(l >> 8)
			b[i+1] = byte(l)
			i += 2
			i += copy(b[i:], f.Data)
		}
	}
}

// Unmarshal decodes one IFP packet that fills b exactly, using p.Version.
// p is overwritten; p.Fields keeps its storage, and each Field.Data aliases
// b (copy it if b will be reused). Unmarshal does not allocate once
// p.Fields has grown to the largest field count seen.
//
// An indicator, data type or field type beyond those T.38 defines is
// decoded into p and reported as an *UnknownValueError (errors.Is
// ErrUnknownValue); any other error leaves p unspecified.
//
// In version 0 both the X.691 layout (a field without data shares its octet
// with the next field) and spandsp's octet-per-field layout are accepted.
func (p *IFP) Unmarshal(b []byte) error {
	if p.Version == 0 {
		return p.unmarshalV0(b)
	}
	n, err := p.decode(b, false)
	if fatal(err) {
		return err
	}
	if n != len(b) {
		return ErrTrailingData
	}
	return err
}

// unmarshalV0 tries the X.691 (packed) and spandsp (octet per field)
// layouts of version 0. When both fit b exactly, the packed reading wins
// (as spandsp's decoder reads it) unless it has empty data-carrying fields
// and the octet reading has none.
func (p *IFP) unmarshalV0(b []byte) error {
	n, err := p.decode(b, true)
	if !fatal(err) && n == len(b) {
		if !hasFields(b) || p.suspicious() == 0 {
			return err
		}
		var alt IFP
		var fields [8]Field
		alt.Fields = fields[:0]
		if n2, err2 := alt.decode(b, false); !fatal(err2) && n2 == len(b) && alt.suspicious() == 0 {
			_, err = p.decode(b, false)
			return err
		}
		return err
	}
	n2, err2 := p.decode(b, false)
	if !fatal(err2) && n2 == len(b) {
		return err2
	}
	if fatal(err) {
		return err
	}
	if fatal(err2) {
		return err2
	}
	return ErrTrailingData
}

// hasFields reports whether an encoded IFP has a data-field.
func hasFields(b []byte) bool { return len(b) > 0 && b[0]&0xc0 == 0xc0 }

// suspicious counts fields of a data-carrying type (hdlc-data,
// t4-non-ecm-data) that carry no data: what a version 0 packet read in the
// wrong layout tends to show.
func (p *IFP) suspicious() int {
	n := 0
	for _, f := range p.Fields {
		if len(f.Data) == 0 && (f.Type == FieldHDLCData || f.Type == FieldT4NonECMData) {
			n++
		}
	}
	return n
}

// fatal reports whether err is an error other than an unknown value.
func fatal(err error) bool {
	return err != nil && !errors.Is(err, ErrUnknownValue)
}

// ifpLen returns the length of the IFP encoding at the start of b, or -1,
// decoding into the scratch packet p.
// Used to trim packets rebuilt from FEC parity, which are padded to the
// longest packet of their group.
func ifpLen(p *IFP, v Version, b []byte) int {
	p.Version = v
	n, err := p.decode(b, v == 0)
	if v == 0 && hasFields(b) && (fatal(err) || p.suspicious() > 0) {
		if n2, err2 := p.decode(b, false); !fatal(err2) && (fatal(err) || p.suspicious() == 0) {
			return n2
		}
	}
	if fatal(err) {
		return -1
	}
	return n
}

// decode parses an IFP at the start of b and returns its length. packed
// selects the version 0 nibble layout for fields; otherwise each field
// starts an octet, with the version 1+ extension bit unless p.Version is 0.
func (p *IFP) decode(b []byte, packed bool) (int, error) {
	p.Fields = p.Fields[:0]
	p.Indicator, p.DataType = 0, 0
	if len(b) < 1 {
		return 0, ErrShortPacket
	}
	var unknown error
	present := b[0]&0x80 != 0
	i := 1
	if b[0]&0x40 == 0 {
		p.Type = TypeIndicator
		if present {
			return 0, fmt.Errorf("%w: indicator with a data field", ErrMalformed)
		}
		if b[0]&0x20 == 0 {
			// Bit 0 is padding; spandsp ignores it too.
			p.Indicator = Indicator(b[0] >> 1 & 0x0f)
			return 1, nil
		}
		ext, err := extIndex(b)
		if err != nil {
			return 0, err
		}
		p.Indicator = numRootIndicators + Indicator(ext)
		if !p.Indicator.Known() {
			unknown = &UnknownValueError{"indicator", int(p.Indicator)}
		}
		return 2, unknown
	}
	p.Type = TypeData
	if b[0]&0x20 == 0 {
		p.DataType = DataType(b[0] >> 1 & 0x0f)
		if p.DataType >= numRootDataTypes {
			// Root values 9..15 are undefined; they must not read as the
			// extension values that share their numbers.
			p.DataType += unknownRootDataType
			unknown = &UnknownValueError{"data type", int(p.DataType)}
		}
	} else {
		ext, err := extIndex(b)
		if err != nil {
			return 0, err
		}
		p.DataType = numRootDataTypes + DataType(ext)
		if !p.DataType.Known() {
			unknown = &UnknownValueError{"data type", int(p.DataType)}
		}
		i = 2
	}
	if !present {
		return i, unknown
	}
	if i >= len(b) {
		return 0, ErrShortPacket
	}
	var count int
	switch {
	case b[i]&0x80 == 0:
		count = int(b[i])
		i++
	case b[i]&0x40 == 0:
		if i+1 >= len(b) {
			return 0, ErrShortPacket
		}
		count = int(b[i]&0x3f)<<8 | int(b[i+1])
		i += 2
	default:
		return 0, fmt.Errorf("%w: fragmented field count", ErrTooLarge)
	}
	if count == 0 {
		return 0, fmt.Errorf("%w: empty data-field", ErrMalformed)
	}
	// Each field takes at least half an octet: a cheap bound that stops a
	// hostile count from growing p.Fields.
	if count > 2*(len(b)-i) {
		return 0, ErrShortPacket
	}
	half := false
	for k := 0; k < count; k++ {
		if i >= len(b) {
			return 0, ErrShortPacket
		}
		var f Field
		var fp bool
		switch {
		case p.Version == 0 && half:
			fp = b[i]&0x08 != 0
			f.Type = FieldType(b[i] & 0x07)
			i++
			half = false
		case p.Version == 0:
			fp = b[i]&0x80 != 0
			f.Type = FieldType(b[i] >> 4 & 0x07)
			if !fp && packed {
				half = true
			} else {
				i++
			}
		case b[i]&0x40 == 0:
			fp = b[i]&0x80 != 0
			f.Type = FieldType(b[i] >> 3 & 0x07)
			i++
		default:
			fp = b[i]&0x80 != 0
			if i+1 >= len(b) {
				return 0, ErrShortPacket
			}
			ext, err := extIndex(b[i:])
			if err != nil {
				return 0, err
			}
			f.Type = numRootFieldTypes + FieldType(ext)
			if !f.Type.Known() && unknown == nil {
				unknown = &UnknownValueError{"field type", int(f.Type)}
			}
			i += 2
		}
		if fp {
			if i+2 > len(b) {
				return 0, ErrShortPacket
			}
			l := (int(b[i])<<8 | int(b[i+1])) + 1
			i += 2
			if l > len(b)-i {
				return 0, ErrShortPacket
			}
			f.Data = b[i : i+l : i+l]
			i += l
		}
		p.Fields = append(p.Fields, f)
	}
	if half {
		i++
	}
	return i, unknown
}

// extIndex decodes the 6-bit index of an extension addition from the
// 2-octet form spandsp uses: bits 3..0 of the first octet and bits 7..6 of
// the second. Bit 4 (the "large value" flag of a normally small number) must
// be clear.
func extIndex(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, ErrShortPacket
	}
	if b[0]&0x10 != 0 {
		return 0, fmt.Errorf("%w: extension index beyond 63", ErrMalformed)
	}
	return int(b[0]&0x0f)<<2 | int(b[1]>>6), nil
}

// BitReverse writes src to dst with the bit order of every octet reversed
// and returns the number of octets written (min of both lengths). HDLC and
// non-ECM image octets travel in IFP with the first line bit in the most
// significant position, the reverse of how HDLC octets are usually held
// (the DIS FCF 0x80 appears as 0x01 in IFP). dst and src may be the same.
func BitReverse(dst, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = bitRev[src[i]]
	}
	return n
}

var bitRev = func() (t [256]byte) {
	for i := range t {
		var r byte
		for b := 0; b < 8; b++ {
			if i&(1<<b) != 0 {
				r |= 0x80 >> b
			}
		}
		t[i] = r
	}
	return t
}()
