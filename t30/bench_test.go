package t30

import (
	"testing"
	"time"
)

func BenchmarkParseFrame(b *testing.B) {
	in := unhex("FF 13 80 04 EE F8 C4 80 91 80 80 80 18")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseFrame(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseDIS(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalDIS(b *testing.B) {
	d := DefaultCapabilities().DIS()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		f := d.Frame(false)
		buf, _ = f.AppendBinary(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkCall holds a whole 3-page fine ECM call back to back on virtual
// time (page encoding and decoding with t4 included).
func BenchmarkCall(b *testing.B) {
	for _, ecm := range []bool{false, true} {
		name := "nonECM"
		if ecm {
			name = "ECM"
		}
		b.Run(name, func(b *testing.B) {
			doc := testDoc(3, 1100, ResFine)
			b.ReportAllocs()
			for b.Loop() {
				p := newPair(b, doc, withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
				p.sim.run(time.Hour)
				if p.tx.Result() != ResultOK {
					b.Fatal(p.tx.Result())
				}
			}
		})
	}
}
