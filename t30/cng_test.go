package t30

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// cngTimes returns when side A sent CNG, from the simulator's trace.
func cngTimes(t *testing.T, l *lineSim) []time.Duration {
	t.Helper()
	var at []time.Duration
	for _, line := range l.trace {
		f := strings.Fields(line)
		if len(f) != 4 || f[1] != "A" || f[2] != "send" || f[3] != "CNG" {
			continue
		}
		sec, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "s"), 64)
		if err != nil {
			t.Fatalf("trace line %q: %v", line, err)
		}
		at = append(at, time.Duration(sec*1000)*time.Millisecond)
	}
	return at
}

// The calling terminal repeats CNG (0.5 s on, 3 s off) while no frame
// arrives, and stops once the answering terminal is heard. The answerer
// here starts 7.6 s late, so its DIS arrives just after 10 s.
func TestCallerRepeatsCNGUntilAnswered(t *testing.T) {
	p := newPair(t, testDoc(1, 120, ResFine))
	p.sim.startAt[1] = t0.Add(7600 * time.Millisecond)
	p.sim.run(10 * time.Minute)
	if p.tx.Result() != ResultOK || p.rx.Result() != ResultOK {
		t.Fatalf("results tx=%v rx=%v\n%s", p.tx.Result(), p.rx.Result(), p.sim.tail())
	}
	p.checkPages(t)

	var dis time.Duration
	for _, r := range p.txRec {
		if r.Kind == RecordFrameReceived && r.Frame.FCF == FCFDIS {
			dis = r.Time.Sub(t0)
			break
		}
	}
	if dis < 10*time.Second || dis > 10500*time.Millisecond {
		t.Fatalf("DIS reached the caller at %v, want 10 s to 10.5 s", dis)
	}
	cng := cngTimes(t, p.sim)
	want := []time.Duration{0, 3500 * time.Millisecond, 7 * time.Second}
	if len(cng) != len(want) {
		t.Fatalf("CNG sent at %v, want %v (DIS at %v)", cng, want, dis)
	}
	for i := range want {
		if cng[i] != want[i] {
			t.Fatalf("CNG sent at %v, want %v", cng, want)
		}
	}
}

// With nobody answering, CNG repeats every 3.5 s until T1 ends the call.
func TestCallerCNGUntilT1(t *testing.T) {
	tx, err := NewSession(Config{Calling: true, Transmit: true, Document: testDoc(1, 50, ResFine)})
	if err != nil {
		t.Fatal(err)
	}
	l := newSim(t, tx, nil)
	l.run(10 * time.Minute)
	if tx.Result() != ResultNoAnswer {
		t.Fatalf("result %v, want no-answer\n%s", tx.Result(), l.tail())
	}
	if end := tx.Stats().End.Sub(t0); end != 35*time.Second {
		t.Fatalf("call ended at %v, want T1 (35 s)", end)
	}
	cng := cngTimes(t, l)
	if len(cng) != 10 { // 0, 3.5, ..., 31.5 s
		t.Fatalf("CNG sent at %v, want 10 times", cng)
	}
	for i, at := range cng {
		if want := time.Duration(i) * 3500 * time.Millisecond; at != want {
			t.Fatalf("CNG %d at %v, want %v", i+1, at, want)
		}
	}
}

// An answering terminal never sends CNG, however long it waits; a caller
// that starts late calls until it hears the answerer's DIS.
func TestAnswererSendsNoCNG(t *testing.T) {
	p := newPair(t, testDoc(1, 120, ResFine))
	p.sim.startAt[0] = t0.Add(9 * time.Second) // the caller starts late
	p.sim.run(10 * time.Minute)
	if p.tx.Result() != ResultOK || p.rx.Result() != ResultOK {
		t.Fatalf("results tx=%v rx=%v\n%s", p.tx.Result(), p.rx.Result(), p.sim.tail())
	}
	for _, line := range p.sim.trace {
		if strings.Contains(line, " B send CNG") {
			t.Fatalf("answerer sent CNG: %q", line)
		}
	}
	// The caller started between two of the answerer's DIS (sent at 0.5 s
	// and 7 s, repeated after T4): it calls at 9 s and 12.5 s, and not
	// once the third DIS (13.4 s) is heard.
	var heard time.Duration
	for _, r := range p.txRec {
		if r.Kind == RecordFrameReceived {
			heard = r.Time.Sub(t0)
			break
		}
	}
	cng := cngTimes(t, p.sim)
	if len(cng) != 2 || cng[0] != 9*time.Second || cng[1] != 12500*time.Millisecond || heard < cng[1] {
		t.Fatalf("caller sent CNG at %v, first heard the answerer at %v\n%s", cng, heard, p.sim.tail())
	}
}
