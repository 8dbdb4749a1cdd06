package t30

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t4"
)

// A page that ends with RTC/EOFB followed by many zero fill octets (spandsp
// pads 180+) is complete; the same page cut before its RTC/EOFB is not.
func TestHasPageEndAfterZeroFill(t *testing.T) {
	page := t4.NewBitmap(1728, 40)
	for y := 0; y < 40; y += 3 {
		page.SetBlack(y*40, y, true)
	}
	for _, c := range []Compression{MH, MR, MMR} {
		var buf bytes.Buffer
		require.NoError(t, t4.EncodePage(&buf, page, &t4.EncodeOptions{
			Compression: T4Compression(c), K: 2, BitOrder: t4.LSBFirst}))
		data := buf.Bytes()
		require.True(t, HasPageEnd(data, c), "%v", c)
		padded := append(append([]byte(nil), data...), make([]byte, 300)...)
		require.True(t, HasPageEnd(padded, c), "%v with 300 zero octets after the end", c)
		require.False(t, HasPageEnd(data[:len(data)-8], c), "%v cut before its end", c)
	}
}

// A non-ECM page whose end went unheard: the sender's post-page command
// follows its page at once in the sim, its flags first, its frame 1.2 s
// later (a 1 s preamble). The receiver tells an end marker lost with the
// page's last moments (the command's flags within PageEndGap of the last
// data, or its frame within 2 s when the flags went unheard: the page is
// kept, answered RTP, its rows uncertain) from a page whose tail was lost
// whole (RTN, and the sender sends it again).
func TestPageEndLost(t *testing.T) {
	for _, c := range []struct {
		name    string
		lost    time.Duration // line time cut from the page's end, 0: its RTC alone
		noFlags bool
		want    FCF
	}{
		{"RTC", 0, false, FCFRTP},
		{"RTC and 0.5 s", 500 * time.Millisecond, false, FCFRTP},
		{"RTC and 0.7 s", 700 * time.Millisecond, false, FCFRTN},
		{"RTC, no flags", 0, true, FCFRTP},
		{"RTC and 0.5 s, no flags", 500 * time.Millisecond, true, FCFRTP},
		{"RTC and 1 s, no flags", time.Second, true, FCFRTN},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t, testDoc(2, 600, ResFine), withCaps(nonECM, nil))
			p.sim.noFlags[0] = c.noFlags
			p.sim.imageFault = func(side, n int, d []byte) []byte {
				if n != 1 {
					return d
				}
				m := p.tx.mode
				for len(d) > 0 && HasPageEnd(d, m.Compression) {
					d = d[:len(d)-1]
				}
				cut := int(c.lost * time.Duration(m.Speed.BitRate()/8) / time.Second)
				if cut > len(d)/2 {
					t.Fatalf("page of %d octets too short to lose %d", len(d), cut)
				}
				return d[:len(d)-cut]
			}
			runPair(t, p)
			wantResults(t, p, ResultOK, ResultOK)
			if p.sim.count[1][c.want] != 1 {
				t.Fatalf("%s sent %d times, want once\n%s", c.want, p.sim.count[1][c.want], p.sim.tail())
			}
			first := p.got[0]
			var rejected []Record
			for _, r := range p.rxRec {
				if r.Kind == RecordPageRejected {
					rejected = append(rejected, r)
				}
			}
			if c.want == FCFRTN {
				// Page 1 came again, whole; the record of its first
				// coming says why it was refused.
				p.checkPages(t)
				if st := p.tx.Stats(); st.PagesRejected != 1 || st.Pages != 2 {
					t.Errorf("tx stats %+v", st)
				}
				if len(rejected) != 1 || rejected[0].Page != 1 || !rejected[0].Quality.Truncated || rejected[0].Quality.Rows < 500 {
					t.Fatalf("page-rejected records %+v", rejected)
				}
				if got := rejected[0].String(); !strings.HasPrefix(got, "page 1 rejected rows=") || !strings.HasSuffix(got, " truncated=true") {
					t.Errorf("record reads %q", got)
				}
				return
			}
			if len(rejected) != 0 {
				t.Errorf("page-rejected records %+v", rejected)
			}
			q := first.Quality
			if len(p.got) != 2 || first.Response != FCFRTP || !q.EndLost || q.Truncated || !q.RowsUncertain {
				t.Fatalf("%d pages, page 1 answered %s, quality %+v", len(p.got), first.Response, q)
			}
			if rows := p.doc.Pages[0].Height; q.Rows > rows || c.lost == 0 && q.Rows < rows-1 {
				t.Errorf("page 1 has %d rows of %d", q.Rows, rows)
			}
			if st := p.tx.Stats(); st.PagesRejected != 0 || st.Pages != 2 {
				t.Errorf("tx stats %+v", st)
			}
			if q := p.got[1].Quality; q.EndLost || q.RowsUncertain {
				t.Errorf("page 2 quality %+v", q)
			}
		})
	}
}
