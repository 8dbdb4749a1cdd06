package v17

// depth is the Viterbi decoder's decision depth in symbols: a decision
// on a symbol is taken once depth-1 later symbols have been seen. Five
// to six times the code's memory (3) reaches the code's error bound;
// depth must stay below endOnes so that the closing ones push the last
// data symbols out before the carrier drops.
const depth = 20

// branch is one way into a trellis state: from state s with the
// differentially encoded pair y.
type branch struct{ s, y uint8 }

// preds lists, for each state, the four branches into it.
var preds = func() (p [8][4]branch) {
	var n [8]int
	for s := range 8 {
		for y := range 4 {
			ns := nextState(s, y)
			p[ns][n[ns]] = branch{uint8(s), uint8(y)}
			n[ns]++
		}
	}
	return
}()

// viterbi decodes V.17's trellis code (the 8-state code of V.17 §4.2) by
// maximum likelihood over squared Euclidean distances. For each received
// symbol it slices each of the 8 subsets (the points sharing Y2 Y1 Y0) to
// its nearest point, extends the 8 survivors with those branch metrics,
// and traces the best survivor back depth symbols for the decision.
type viterbi struct {
	sub    *subsets
	metric [8]float64
	prev   [depth][8]uint8 // survivor into each state: the state before
	point  [depth][8]uint8 // and the point on its last branch
	pos    int
	n      int
	// Per-symbol scratch: nearest point and squared distance per subset.
	near [8]uint8
	dist [8]float64
}

func newViterbi(pts []complex128) *viterbi {
	return &viterbi{sub: newSubsets(pts)}
}

func (v *viterbi) reset() {
	// All states equally likely: the receiver does not rely on the
	// transmitter's initial encoder state.
	clear(v.metric[:])
	v.pos, v.n = 0, 0
}

// step enters received symbol z. It returns the tentative (per-symbol)
// nearest point, and, once the decoder is depth symbols deep, the
// decided point index of the symbol depth-1 symbols back and true.
func (v *viterbi) step(z complex128) (tentative int, decided int, ok bool) {
	v.sub.nearest(z, &v.near, &v.dist)
	best := 0
	for sub := 1; sub < 8; sub++ {
		if v.dist[sub] < v.dist[best] {
			best = sub
		}
	}
	tentative = int(v.near[best])
	v.pos++
	if v.pos == depth {
		v.pos = 0
	}
	var nm [8]float64
	low := 0
	for ns := range 8 {
		y0 := uint8(ns >> 2)
		bm, bi := 0.0, -1
		for k, b := range preds[ns] {
			m := v.metric[b.s] + v.dist[b.y<<1|y0]
			if bi < 0 || m < bm {
				bm, bi = m, k
			}
		}
		b := preds[ns][bi]
		nm[ns] = bm
		v.prev[v.pos][ns] = b.s
		v.point[v.pos][ns] = v.near[b.y<<1|y0]
		if bm < nm[low] {
			low = ns
		}
	}
	// Keep the metrics small: only their differences matter.
	m0 := nm[low]
	for i := range nm {
		v.metric[i] = nm[i] - m0
	}
	if v.n++; v.n < depth {
		return tentative, 0, false
	}
	k, p := low, v.pos
	for range depth - 1 {
		k = int(v.prev[p][k])
		if p--; p < 0 {
			p = depth - 1
		}
	}
	return tentative, int(v.point[p][k]), true
}
