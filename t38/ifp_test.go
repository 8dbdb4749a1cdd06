package t38

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestEnumStrings(t *testing.T) {
	require.Equal(t, "no-signal", IndNoSignal.String())
	require.Equal(t, "v17-14400-long-training", IndV17_14400LongTraining.String())
	require.Equal(t, "v33-14400-training", IndV33_14400Training.String())
	require.Equal(t, "Indicator(23)", Indicator(23).String())
	require.Equal(t, "v21", DataV21.String())
	require.Equal(t, "v34-pri-ch", DataV34PriCh.String())
	require.Equal(t, "DataType(200)", DataType(200).String())
	require.Equal(t, "hdlc-fcs-OK-sig-end", FieldHDLCFCSOKSigEnd.String())
	require.Equal(t, "v34rate", FieldV34Rate.String())
	require.Equal(t, "FieldType(12)", FieldType(12).String())
	require.Equal(t, "t30-data", TypeData.String())
	require.Equal(t, "MsgType(7)", MsgType(7).String())
	require.Equal(t, "t38UDPFEC", ECFEC.String())
	require.Equal(t, "fec-info", RecoveryFEC.String())
	require.Equal(t, "fec", RecoveredFEC.String())
	require.Equal(t, "to-one", RolloverToOne.String())
}

// Hand-worked encodings from the PER layout (T.38 annex A, X.691 aligned).
func TestIFPHandWorked(t *testing.T) {
	tests := []struct {
		name string
		p    IFP
		hex  string
	}{
		{"CED v0", IFP{Type: TypeIndicator, Indicator: IndCED}, "04"},
		{"V.21 preamble v3", IFP{Version: 3, Type: TypeIndicator, Indicator: IndV21Preamble}, "06"},
		{"V.8 signal v2 (extension)", IFP{Version: 2, Type: TypeIndicator, Indicator: IndV8Signal}, "2040"},
		{"V.33 14400 training v1", IFP{Version: 1, Type: TypeIndicator, Indicator: IndV33_14400Training}, "2180"},
		// DIS frame start: v21 hdlc-data with the address and control
		// octets 0xff 0x13 (bit-reversed 0xc8), then fcs-OK.
		{"v21 hdlc-data + fcs-OK v1", IFP{Version: 1, Type: TypeData, DataType: DataV21,
			Fields: []Field{{FieldHDLCData, []byte{0xff, 0xc8}}, {FieldHDLCFCSOK, nil}}}, "c0 02 80 0001 ffc8 10"},
		{"v0 fcs-OK + sig-end share an octet", IFP{Type: TypeData, DataType: DataV21,
			Fields: []Field{{FieldHDLCFCSOK, nil}, {FieldHDLCSigEnd, nil}}}, "c0 02 21"},
		{"v0 three empty fields", IFP{Type: TypeData, DataType: DataV21,
			Fields: []Field{{FieldHDLCFCSBad, nil}, {FieldHDLCSigEnd, nil}, {FieldHDLCData, nil}}}, "c0 03 31 00"},
		{"v0 empty then data field", IFP{Type: TypeData, DataType: DataV21,
			Fields: []Field{{FieldHDLCSigEnd, nil}, {FieldHDLCData, []byte{7}}}}, "c0 02 18 0000 07"},
		{"non-ECM sig-end v17 14400", IFP{Version: 2, Type: TypeData, DataType: DataV17_14400,
			Fields: []Field{{FieldT4NonECMSigEnd, nil}}}, "d0 01 38"},
		{"v34 pri-ch ext data type", IFP{Version: 3, Type: TypeData, DataType: DataV34PriCh,
			Fields: []Field{{FieldHDLCData, []byte{1}}}}, "e0 c0 01 80 0000 01"},
		{"cm-message ext field", IFP{Version: 3, Type: TypeData, DataType: DataV8,
			Fields: []Field{{FieldCMMessage, []byte("1")}}}, "e0 00 01 c0 00 0000 31"},
		{"data type without data field", IFP{Version: 1, Type: TypeData, DataType: DataV29_9600}, "48"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.MarshalBinary()
			require.NoError(t, err)
			want := unhex(t, tc.hex)
			require.Equal(t, want, got)
			require.Equal(t, len(want), tc.p.MarshalSize())
			var q IFP
			q.Version = tc.p.Version
			require.NoError(t, q.Unmarshal(want))
			require.Equal(t, canon(&tc.p), canon(&q))
		})
	}
}

func TestIFPVersionAndValueErrors(t *testing.T) {
	for _, p := range []IFP{
		{Type: TypeIndicator, Indicator: IndV8ANSAM},
		{Type: TypeData, DataType: DataV8},
		{Type: TypeData, DataType: DataV21, Fields: []Field{{FieldCIMessage, []byte{1}}}},
	} {
		_, err := p.MarshalBinary()
		require.ErrorIs(t, err, ErrVersion)
		require.Zero(t, p.MarshalSize())
	}
	_, err := (&IFP{Version: 1, Type: TypeIndicator, Indicator: 40}).MarshalBinary()
	require.ErrorIs(t, err, ErrUnknownValue)
	_, err = (&IFP{Version: 1, Type: TypeData, Fields: []Field{{Type: 99}}}).MarshalBinary()
	require.ErrorIs(t, err, ErrUnknownValue)
	_, err = (&IFP{Type: 5}).MarshalBinary()
	require.ErrorIs(t, err, ErrInvalid)
	_, err = (&IFP{Version: 1, Type: TypeData, Fields: []Field{{Data: make([]byte, 65536)}}}).MarshalBinary()
	require.ErrorIs(t, err, ErrTooLarge)
	var buf [2]byte
	_, err = (&IFP{Version: 1, Type: TypeData, Fields: []Field{{Data: []byte{1}}}}).MarshalTo(buf[:])
	require.ErrorIs(t, err, ErrBufferTooSmall)
}

func TestIFPUnknownValuesReported(t *testing.T) {
	var p IFP
	p.Version = 3
	// Extension indicator index 9 (beyond v33-14400-training).
	err := p.Unmarshal(unhex(t, "2240"))
	var uv *UnknownValueError
	require.ErrorAs(t, err, &uv)
	require.Equal(t, "indicator", uv.What)
	require.Equal(t, Indicator(25), p.Indicator)
	require.Equal(t, "Indicator(25)", p.Indicator.String())
	// Root data type 9..15 do not exist.
	err = p.Unmarshal(unhex(t, "d2 01 00"))
	require.ErrorIs(t, err, ErrUnknownValue)
	require.Equal(t, "DataType(137)", p.DataType.String())
	// Extension field type 5 (beyond v34rate), the packet still decodes.
	err = p.Unmarshal(unhex(t, "c0 01 41 40"))
	require.ErrorIs(t, err, ErrUnknownValue)
	require.Len(t, p.Fields, 1)
	require.Equal(t, FieldType(13), p.Fields[0].Type)
}

func TestIFPMalformed(t *testing.T) {
	for _, h := range []string{"", "80", "20", "30 00", "c0", "c0 00", "c0 01 80 00",
		"c0 01 80 0001 ff", "c0 c0", "c0 02 10", "c0 05 10", "c0 01 40", "c0 01 80 0000 01 00", "06 00", "07 00"} {
		var p IFP
		p.Version = 1
		require.Error(t, p.Unmarshal(unhex(t, h)), h)
	}
}

// spandsp 0.0.6 encodes version 0 fields a whole octet each; its decoder
// (like X.691) packs them. We send the packed form and accept both.
func TestIFPVersion0AcceptsBothLayouts(t *testing.T) {
	want := IFP{Type: TypeData, DataType: DataV21, Fields: []Field{{FieldHDLCFCSOK, nil}, {FieldHDLCSigEnd, nil}}}
	for _, h := range []string{"c0 02 21", "c0 02 2010"} {
		var p IFP
		require.NoError(t, p.Unmarshal(unhex(t, h)), h)
		require.Equal(t, canon(&want), canon(&p), h)
	}
}

func TestIFPUnmarshalAliasesAndReuses(t *testing.T) {
	b := unhex(t, "c0 02 80 0001 ffc8 10")
	var p IFP
	p.Version = 1
	require.NoError(t, p.Unmarshal(b))
	b[6] = 0xaa
	require.Equal(t, byte(0xaa), p.Fields[0].Data[1], "field data aliases the input")
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Unmarshal(b); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
	buf := make([]byte, 64)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := p.MarshalTo(buf); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestUDPTLSendReceiveZeroAlloc(t *testing.T) {
	s, _ := NewSender(SenderConfig{EC: ECRedundancy, Depth: 3, MaxDatagram: 400})
	r, _ := NewReceiver(ReceiverConfig{})
	ifp := unhex(t, "c0 02 80 0001 ffc8 10")
	buf := make([]byte, 0, 400)
	run := func() {
		d, err := s.Append(buf[:0], ifp)
		if err != nil {
			panic(err)
		}
		if err := r.Push(d); err != nil {
			panic(err)
		}
		for {
			if _, ok := r.Next(); !ok {
				break
			}
		}
	}
	for i := 0; i < 300; i++ { // warm up the rings
		run()
	}
	require.Zero(t, testing.AllocsPerRun(200, run))
	f, _ := NewSender(SenderConfig{EC: ECFEC, MaxDatagram: 400})
	for i := 0; i < 100; i++ {
		_, _ = f.Append(buf[:0], ifp)
	}
	require.Zero(t, testing.AllocsPerRun(200, func() { _, _ = f.Append(buf[:0], ifp) }))
}

func TestBitReverse(t *testing.T) {
	in := []byte{0x80, 0x01, 0x13, 0xff, 0x00}
	out := make([]byte, len(in))
	require.Equal(t, 5, BitReverse(out, in))
	require.Equal(t, []byte{0x01, 0x80, 0xc8, 0xff, 0x00}, out)
	BitReverse(out, out)
	require.Equal(t, in, out)
}

func TestIFPRoundTripAllValues(t *testing.T) {
	for v := Version(0); v <= MaxVersion; v++ {
		for ft := FieldType(0); ft < numFieldTypes; ft++ {
			for dt := DataType(0); dt < numDataTypes; dt++ {
				p := IFP{Version: v, Type: TypeData, DataType: dt,
					Fields: []Field{{ft, nil}, {FieldHDLCData, []byte{1, 2, 3}}, {ft, []byte{9}}, {ft, nil}}}
				b, err := p.MarshalBinary()
				if v == 0 && (ft >= numRootFieldTypes || dt >= numRootDataTypes) {
					require.True(t, errors.Is(err, ErrVersion))
					continue
				}
				require.NoError(t, err)
				var q IFP
				q.Version = v
				require.NoError(t, q.Unmarshal(b))
				if diff := cmp.Diff(canon(&p), canon(&q)); diff != "" {
					t.Fatalf("v%d %v %v (-want +got)\n%s", v, dt, ft, diff)
				}
				require.Equal(t, len(b), ifpLen(new(IFP), v, append(b, 0xee, 0xee)))
			}
		}
	}
}

// Packets rebuilt from FEC are padded; trimming finds their own length,
// including spandsp's version 0 octet-per-field layout.
func TestIFPLenTrims(t *testing.T) {
	var scratch IFP
	for _, tc := range []struct {
		v   Version
		hex string
		n   int
	}{
		{0, "06 eeee", 1},
		{1, "2040 ee", 2},
		{1, "c0 02 80 0001 ffc8 10 ee", 8},
		{0, "c0 02 21 ee", 3},
		{0, "c0 02 2010 eeee", 4}, // spandsp: fcs-OK, sig-end, one octet each
		{1, "80 ee", -1},
	} {
		require.Equal(t, tc.n, ifpLen(&scratch, tc.v, unhex(t, tc.hex)), tc.hex)
	}
}
