package phi

import (
	"crypto/sha256"
	"hash"
	"runtime"
)

// pageHasher computes a page's SHA-256. With more than one CPU it hashes on
// a helper goroutine, in parallel with encryption or decryption on the
// caller's goroutine (SHA-256 costs about as much as AES-256-GCM itself),
// copying each chunk into one of a few recycled buffers. Callers must call
// sum or stop exactly once, so the goroutine always ends.
type pageHasher struct {
	h    hash.Hash // synchronous mode
	ch   chan []byte
	free chan []byte
	done chan [32]byte
	buf  []byte // partly filled buffer not yet handed over
	n    int    // bytes hashed synchronously so far
}

const (
	hashBufSize = 256 << 10
	hashBufs    = 4
	// The first bytes of a page are hashed inline: for short pages a
	// goroutine costs more than it saves.
	asyncHashMin = hashBufSize
)

// newPageHasher starts synchronous; it moves to a helper goroutine once a
// large write shows the page is big enough to benefit.
func newPageHasher() *pageHasher { return &pageHasher{h: sha256.New()} }

func (p *pageHasher) goAsync() {
	p.ch = make(chan []byte, hashBufs)
	p.free = make(chan []byte, hashBufs)
	p.done = make(chan [32]byte, 1)
	for i := 0; i < hashBufs; i++ {
		p.free <- make([]byte, 0, hashBufSize)
	}
	h := p.h
	p.h = nil
	go func() {
		for b := range p.ch {
			h.Write(b)
			p.free <- b[:0]
		}
		var s [32]byte
		h.Sum(s[:0])
		p.done <- s
	}()
}

func (p *pageHasher) Write(b []byte) {
	if p.h != nil {
		p.n += len(b)
		if p.n < asyncHashMin || runtime.GOMAXPROCS(0) < 2 {
			p.h.Write(b)
			return
		}
		p.goAsync()
	}
	for len(b) > 0 {
		if p.buf == nil {
			p.buf = <-p.free
		}
		n := copy(p.buf[len(p.buf):cap(p.buf)], b)
		p.buf = p.buf[:len(p.buf)+n]
		b = b[n:]
		if len(p.buf) == cap(p.buf) {
			p.ch <- p.buf
			p.buf = nil
		}
	}
}

// sum returns the digest of everything written.
func (p *pageHasher) sum() [32]byte {
	var s [32]byte
	if p.ch == nil {
		p.h.Sum(s[:0])
		return s
	}
	if len(p.buf) > 0 {
		p.ch <- p.buf
		p.buf = nil
	}
	close(p.ch)
	s = <-p.done
	p.ch = nil
	p.h = sha256.New() // further use hashes nothing meaningful, but is safe
	return s
}

// stop ends the helper goroutine without needing the digest.
func (p *pageHasher) stop() {
	if p.ch != nil {
		p.sum()
	}
}
