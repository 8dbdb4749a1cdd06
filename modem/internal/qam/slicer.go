package qam

import "math"

// Slicer finds the nearest constellation point exactly, in about two
// distance computations: the plane is cut into square cells, and each
// cell lists only the points that can be nearest to somewhere inside it.
// Outside the grid it falls back to comparing every point.
type Slicer struct {
	pts   []complex128
	cell  float64
	n     int     // cells per side
	half  float64 // grid spans [-half, half) on both axes
	start []int32 // cell i's candidates are cand[start[i]:start[i+1]]
	cand  []int8
}

// NewSlicer returns a slicer over pts (at most 127 points). Points equal
// to 0 are left out (they mark unused indices).
func NewSlicer(pts []complex128) *Slicer {
	var r, dmin float64 = 0, math.Inf(1)
	for i, p := range pts {
		r = max(r, math.Abs(real(p)), math.Abs(imag(p)))
		for _, q := range pts[i+1:] {
			if p != 0 && q != 0 {
				dmin = min(dmin, abs(p-q))
			}
		}
	}
	s := &Slicer{pts: pts, cell: dmin / 4}
	s.half = r + dmin
	s.n = int(math.Ceil(2 * s.half / s.cell))
	diag := s.cell * math.Sqrt2 / 2
	s.start = make([]int32, s.n*s.n+1)
	for y := 0; y < s.n; y++ {
		for x := 0; x < s.n; x++ {
			c := complex(-s.half+(float64(x)+0.5)*s.cell, -s.half+(float64(y)+0.5)*s.cell)
			best := math.Inf(1)
			for _, p := range pts {
				if p != 0 {
					best = min(best, abs(c-p))
				}
			}
			// A point can be nearest somewhere in the cell only if it is
			// within best + 2·diag of the centre.
			for i, p := range pts {
				if p != 0 && abs(c-p) <= best+2*diag+1e-9 {
					s.cand = append(s.cand, int8(i))
				}
			}
			s.start[y*s.n+x+1] = int32(len(s.cand))
		}
	}
	return s
}

func abs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }

// Nearest returns the index of the point nearest z and the squared
// distance to it.
func (s *Slicer) Nearest(z complex128) (int, float64) {
	x := int(math.Floor((real(z) + s.half) / s.cell))
	y := int(math.Floor((imag(z) + s.half) / s.cell))
	best, bi := math.Inf(1), 0
	if x >= 0 && y >= 0 && x < s.n && y < s.n {
		c := y*s.n + x
		for _, i := range s.cand[s.start[c]:s.start[c+1]] {
			d := z - s.pts[i]
			if e := real(d)*real(d) + imag(d)*imag(d); e < best {
				best, bi = e, int(i)
			}
		}
		return bi, best
	}
	for i, p := range s.pts {
		if p == 0 {
			continue
		}
		d := z - p
		if e := real(d)*real(d) + imag(d)*imag(d); e < best {
			best, bi = e, i
		}
	}
	return bi, best
}
