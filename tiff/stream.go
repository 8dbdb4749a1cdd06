package tiff

import (
	"fmt"
	"io"
	"math"
)

// NewStreamReader reads a TIFF file from a plain io.Reader, such as a
// decrypting or network stream, without seeking. It works for files laid
// out front to back, where everything a page needs lies at or after the
// previous page's data: the files Writer makes (header, data1, IFD1, data2,
// IFD2, ...), those of libtiff, spandsp and HylaFAX (each IFD after its
// strips), and those with each IFD before its strips. A file that points
// back to bytes already passed fails with an error matching ErrUnsupported.
//
// Bytes are buffered from the stream only as far as the next IFD, and
// dropped when Next moves to the following page, so at most about one
// page's data is held (bounded by Limits.MaxStreamBuffer). In exchange a
// Page can be decoded only until the next call to Next.
func NewStreamReader(r io.Reader, cfg *ReaderConfig) (*Reader, error) {
	lim, err := cfg.limits()
	if err != nil {
		return nil, err
	}
	fr := &forwardReader{r: r, max: lim.MaxStreamBuffer}
	rd, err := NewReader(fr, math.MaxInt64, cfg)
	if err != nil {
		return nil, err
	}
	rd.stream = fr
	return rd, nil
}

// release drops the stream's bytes before everything page p may still
// read: its IFD, strips and lazily read tag values.
func (r *Reader) release(p *Page) {
	if r.stream == nil {
		return
	}
	low := p.ifdOff
	for _, o := range p.offsets {
		low = min(low, int64(min(o, math.MaxInt64)))
	}
	for _, e := range []*entry{p.jpegTab, p.cmap} {
		if e != nil && e.inline == nil {
			low = min(low, e.off)
		}
	}
	r.stream.discard(low)
}

// forwardReader is an io.ReaderAt over an io.Reader that can be read at any
// offset not yet discarded, buffering as it goes.
type forwardReader struct {
	r     io.Reader
	base  int64  // file offset of buf[0]
	buf   []byte // bytes from base on
	eof   error  // the stream's final error, once met
	max   int64
	empty int // empty reads in a row
}

func (f *forwardReader) ReadAt(p []byte, off int64) (int, error) {
	if off < f.base {
		return 0, fmt.Errorf("%w: the file needs offset %d of a stream already past %d (not laid out for streaming)", ErrUnsupported, off, f.base)
	}
	end := off + int64(len(p))
	if end-f.base > f.max {
		return 0, fmt.Errorf("%w: streaming would buffer %d bytes (limit %d)", ErrTooLarge, end-f.base, f.max)
	}
	for f.eof == nil && f.base+int64(len(f.buf)) < end {
		// Grow by doubling, not by what was asked: a hostile offset or
		// count must not allocate more than the stream really holds.
		grow := min(max(32<<10, int64(len(f.buf))), f.max-int64(len(f.buf)))
		if int64(cap(f.buf)-len(f.buf)) < grow {
			nb := make([]byte, len(f.buf), int64(len(f.buf))+max(grow, int64(len(f.buf))))
			copy(nb, f.buf)
			f.buf = nb
		}
		n, err := f.r.Read(f.buf[len(f.buf):cap(f.buf)])
		f.buf = f.buf[:len(f.buf)+n]
		if n == 0 && err == nil {
			f.empty++
			if f.empty > 100 {
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			f.eof = err
		}
	}
	start := off - f.base
	if start >= int64(len(f.buf)) {
		return 0, io.EOF
	}
	n := copy(p, f.buf[start:])
	if n < len(p) {
		if f.eof != nil && f.eof != io.EOF {
			return n, f.eof
		}
		return n, io.EOF
	}
	return n, nil
}

// discard drops the bytes before offset upTo.
func (f *forwardReader) discard(upTo int64) {
	if upTo <= f.base {
		return
	}
	d := upTo - f.base
	if d >= int64(len(f.buf)) {
		// Skip the rest of the buffer; the stream itself is read on
		// demand (skipping happens by reading and dropping).
		f.base += int64(len(f.buf))
		f.buf = f.buf[:0]
		for f.base < upTo && f.eof == nil {
			n, err := io.CopyN(io.Discard, f.r, upTo-f.base)
			f.base += n
			if err != nil {
				f.eof = err
			}
		}
		return
	}
	n := copy(f.buf, f.buf[d:])
	f.buf = f.buf[:n]
	f.base = upTo
}
