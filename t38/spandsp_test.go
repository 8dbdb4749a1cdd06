package t38

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/stretchr/testify/require"
)

// The golden vectors of these tests come from libspandsp's t38_core (an
// independent implementation), driven by testdata/spandsp/golden.c, which
// is compiled and run at test time.

// spandspHarness builds testdata/spandsp/golden.c against libspandsp, or
// skips (fails under CI=true) when libspandsp-dev or a C compiler is absent.
func spandspHarness(t *testing.T) string {
	t.Helper()
	flags := peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev")
	src, err := filepath.Abs(filepath.Join("testdata", "spandsp", "golden.c"))
	require.NoError(t, err)
	return peertest.BuildC(t, "golden", []string{src}, flags...)
}

// golden payload, as golden.c's payload().
func goldenPayload(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i*7 + 1)
	}
	return b
}

func runGolden(t *testing.T, exe string, stdin string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	require.NoError(t, err, "running spandsp harness")
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// goldenPackets turns every line of "golden encode" into the IFP it
// describes and the bytes spandsp produced ("" when spandsp refused).
type goldenPacket struct {
	line string
	ifp  IFP
	want string
}

func parseGoldenEncode(t *testing.T, lines []string) []goldenPacket {
	var out []goldenPacket
	for _, line := range lines {
		f := strings.Fields(line)
		var g goldenPacket
		g.line = line
		switch f[0] {
		case "ind":
			require.Len(t, f, 4, line)
			g.ifp = IFP{Version: Version(atoi(t, f[1])), Type: TypeIndicator, Indicator: Indicator(atoi(t, f[2]))}
		case "data":
			require.Len(t, f, 6, line)
			dt, ft, n := atoi(t, f[2]), atoi(t, f[3]), atoi(t, f[4])
			g.ifp = IFP{Version: Version(atoi(t, f[1])), Type: TypeData, DataType: DataType(dt),
				Fields: []Field{{Type: FieldType(ft), Data: goldenPayload(n, dt*16+ft)}}}
		case "multi":
			require.Len(t, f, 5, line)
			g.ifp = IFP{Version: Version(atoi(t, f[1])), Type: TypeData, DataType: DataType(atoi(t, f[2]))}
			for i, spec := range strings.Split(f[3], ",") {
				ft, n, ok := strings.Cut(spec, ":")
				require.True(t, ok, line)
				g.ifp.Fields = append(g.ifp.Fields, Field{Type: FieldType(atoi(t, ft)), Data: goldenPayload(atoi(t, n), 100+i)})
			}
		default:
			t.Fatalf("unexpected harness line %q", line)
		}
		g.want = f[len(f)-1]
		if g.want == "-" {
			g.want = ""
		}
		out = append(out, g)
	}
	return out
}

// hasPackedV0 reports whether p, in version 0, has a field without data
// that is followed by another field: the one layout where spandsp's encoder
// (a whole octet per field) and X.691 (and spandsp's own decoder) disagree.
func hasPackedV0(p *IFP) bool {
	if p.Version != 0 {
		return false
	}
	for i := 0; i+1 < len(p.Fields); i++ {
		if len(p.Fields[i].Data) == 0 {
			return true
		}
	}
	return false
}

func TestSpandspGoldenEncode(t *testing.T) {
	exe := spandspHarness(t)
	packets := parseGoldenEncode(t, runGolden(t, exe, "", "encode"))
	require.Greater(t, len(packets), 3000, "harness produced too few vectors")
	var matched, refusedBoth, v0Layout int
	for _, g := range packets {
		got, err := g.ifp.AppendBinary(nil)
		if g.want == "" {
			require.Error(t, err, "spandsp refused but we encoded %x: %s", got, g.line)
			refusedBoth++
			continue
		}
		require.NoError(t, err, g.line)
		// Our decoder must accept spandsp's bytes as the same packet.
		theirs, _ := hex.DecodeString(g.want)
		var dec IFP
		dec.Version = g.ifp.Version
		require.NoError(t, dec.Unmarshal(theirs), "decoding spandsp's %s: %s", g.want, g.line)
		require.Equal(t, canon(&g.ifp), canon(&dec), g.line)
		if hasPackedV0(&g.ifp) {
			// spandsp encodes version 0 fields octet-aligned, but decodes
			// them packed (X.691); we send the packed form, which its
			// decoder accepts (checked in TestSpandspDecodesOurs).
			require.NotEqual(t, g.want, hex.EncodeToString(got), g.line)
			v0Layout++
			continue
		}
		require.Equal(t, g.want, hex.EncodeToString(got), g.line)
		require.Equal(t, len(got), g.ifp.MarshalSize(), g.line)
		matched++
	}
	t.Logf("spandsp vectors: %d byte-identical, %d refused by both, %d version-0 multi-field layout differences", matched, refusedBoth, v0Layout)
	require.Greater(t, matched, 1900)
}

// canon renders an IFP for comparison (nil and empty Data are the same).
func canon(p *IFP) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "v%d %v ", p.Version, p.Type)
	if p.Type == TypeIndicator {
		sb.WriteString(p.Indicator.String())
		return sb.String()
	}
	sb.WriteString(p.DataType.String())
	for _, f := range p.Fields {
		fmt.Fprintf(&sb, " %v:%x", f.Type, f.Data)
	}
	return sb.String()
}

// TestSpandspDecodesOurs feeds every packet we can encode to spandsp's
// t38_core_rx_ifp_packet and checks that its receive handlers report the
// same indicator, or data type, field types and field data.
func TestSpandspDecodesOurs(t *testing.T) {
	exe := spandspHarness(t)
	var in strings.Builder
	var sent []IFP
	add := func(p IFP) {
		b, err := p.AppendBinary(nil)
		if err != nil {
			return
		}
		fmt.Fprintf(&in, "%d %x\n", p.Version, b)
		sent = append(sent, p)
	}
	for v := Version(0); v <= MaxVersion; v++ {
		for ind := Indicator(0); ind < numIndicators; ind++ {
			add(IFP{Version: v, Type: TypeIndicator, Indicator: ind})
		}
		for dt := DataType(0); dt < numDataTypes; dt++ {
			for ft := FieldType(0); ft < numFieldTypes; ft++ {
				for _, n := range []int{0, 1, 2, 200, 1000} {
					add(IFP{Version: v, Type: TypeData, DataType: dt,
						Fields: []Field{{Type: ft, Data: goldenPayload(n, int(dt)+int(ft))}}})
				}
			}
		}
		// Multi-field packets, including the version 0 packed layout.
		for _, fs := range [][]Field{
			{{FieldHDLCData, []byte{0xff, 0x13, 0x80}}, {FieldHDLCFCSOK, nil}},
			{{FieldHDLCFCSOK, nil}, {FieldHDLCSigEnd, nil}},
			{{FieldHDLCFCSBad, nil}, {FieldHDLCSigEnd, nil}, {FieldHDLCData, nil}},
			{{FieldHDLCSigEnd, nil}, {FieldHDLCData, []byte{1, 2}}, {FieldHDLCFCSOKSigEnd, nil}},
			{{FieldT4NonECMData, goldenPayload(300, 5)}, {FieldT4NonECMSigEnd, nil}},
			{{FieldHDLCData, []byte{1}}, {FieldHDLCData, []byte{2}}, {FieldHDLCData, []byte{3}}, {FieldHDLCFCSOK, nil}, {FieldHDLCSigEnd, nil}},
		} {
			add(IFP{Version: v, Type: TypeData, DataType: DataV21, Fields: fs})
			add(IFP{Version: v, Type: TypeData, DataType: DataV17_14400, Fields: fs})
			add(IFP{Version: v, Type: TypeData, DataType: DataV34PriCh, Fields: fs})
		}
	}
	lines := runGolden(t, exe, in.String(), "decode")
	require.Len(t, lines, len(sent))
	for i, line := range lines {
		p := &sent[i]
		_, report, ok := strings.Cut(line, " -> ")
		require.True(t, ok, line)
		want := "ret 0"
		if p.Type == TypeIndicator {
			want += fmt.Sprintf(" ind %d", p.Indicator)
		} else {
			for _, f := range p.Fields {
				d := "-"
				if len(f.Data) > 0 {
					d = hex.EncodeToString(f.Data)
				}
				want += fmt.Sprintf(" data %d %d %s", p.DataType, f.Type, d)
			}
		}
		require.Equal(t, want, report, "spandsp decoding our %s", canon(p))
	}
	t.Logf("spandsp decoded %d packets we encoded, all as sent", len(lines))
}
