package v17

import "math"

// subsets finds, for a received point, the nearest signal point of each
// of the 8 subsets Y2 Y1 Y0 (the Viterbi decoder's branch metrics)
// exactly, with one grid lookup: the plane is cut into square cells, and
// each cell lists per subset only the points that can be that subset's
// nearest somewhere inside it. Outside the grid it compares every point.
type subsets struct {
	pts   []complex128
	cell  float64
	n     int     // cells per side
	half  float64 // the grid spans [-half, half) on both axes
	start []int32 // cell c, subset s: cand[start[8c+s]:start[8c+s+1]]
	cand  []uint8
}

func newSubsets(pts []complex128) *subsets {
	var r float64
	for _, p := range pts {
		r = max(r, math.Abs(real(p)), math.Abs(imag(p)))
	}
	// Cells of a quarter of the smallest distance between points.
	dmin := math.Inf(1)
	for i, p := range pts {
		for _, q := range pts[i+1:] {
			dmin = min(dmin, cabs(p-q))
		}
	}
	s := &subsets{pts: pts, cell: dmin / 2, half: r + 2*dmin}
	s.n = int(math.Ceil(2 * s.half / s.cell))
	diag := s.cell * math.Sqrt2 / 2
	s.start = make([]int32, 8*s.n*s.n+1)
	k := 0
	for y := 0; y < s.n; y++ {
		for x := 0; x < s.n; x++ {
			c := complex(-s.half+(float64(x)+0.5)*s.cell, -s.half+(float64(y)+0.5)*s.cell)
			for sub := range 8 {
				best := math.Inf(1)
				for i := sub; i < len(pts); i += 8 {
					best = min(best, cabs(c-pts[i]))
				}
				// A point can be nearest somewhere in the cell only if it
				// is within best + 2·diag of the centre.
				for i := sub; i < len(pts); i += 8 {
					if cabs(c-pts[i]) <= best+2*diag+1e-9 {
						s.cand = append(s.cand, uint8(i))
					}
				}
				k++
				s.start[k] = int32(len(s.cand))
			}
		}
	}
	return s
}

func cabs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }

// nearest fills near and dist with each subset's nearest point to z and
// its squared distance.
func (s *subsets) nearest(z complex128, near *[8]uint8, dist *[8]float64) {
	x := int(math.Floor((real(z) + s.half) / s.cell))
	y := int(math.Floor((imag(z) + s.half) / s.cell))
	if x >= 0 && y >= 0 && x < s.n && y < s.n {
		base := 8 * (y*s.n + x)
		for sub := range 8 {
			best, bi := math.Inf(1), uint8(0)
			for _, i := range s.cand[s.start[base+sub]:s.start[base+sub+1]] {
				d := z - s.pts[i]
				if e := real(d)*real(d) + imag(d)*imag(d); e < best {
					best, bi = e, i
				}
			}
			near[sub], dist[sub] = bi, best
		}
		return
	}
	for sub := range 8 {
		best, bi := math.Inf(1), uint8(sub)
		for i := sub; i < len(s.pts); i += 8 {
			d := z - s.pts[i]
			if e := real(d)*real(d) + imag(d)*imag(d); e < best {
				best, bi = e, uint8(i)
			}
		}
		near[sub], dist[sub] = bi, best
	}
}
