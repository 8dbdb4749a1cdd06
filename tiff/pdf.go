package tiff

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os/exec"
	"strconv"
)

// ErrNoRenderer is returned when no PDF renderer is installed. The error
// names the programs looked for and the Debian packages that provide them.
var ErrNoRenderer = errors.New("tiff: no PDF renderer")

// PDFConfig controls RenderPDF. The zero value renders at 300 dpi with
// Ghostscript, or pdftoppm when Ghostscript is absent.
type PDFConfig struct {
	// Renderer is "gs" (Ghostscript), "pdftoppm" (Poppler) or "" to use
	// whichever is installed, Ghostscript first.
	Renderer string
	// DPI is the rendering density in dots per inch; default 300. The
	// pages are then scaled to the fax resolution, so a density above the
	// fax's keeps small text legible.
	DPI int
	// MaxPages bounds the pages rendered; default 1000. A longer PDF is
	// an ErrTooLarge error once its first MaxPages pages have been
	// delivered (a fax must not silently lose pages).
	MaxPages int
	// MaxPageBytes bounds one rendered page image (a grey PNG is
	// width*height bytes decoded); default 256 MiB.
	MaxPageBytes int64
	// LookPath finds a program; nil means exec.LookPath. Tests use it.
	LookPath func(string) (string, error)
}

var renderers = []struct{ name, pkg string }{
	{"gs", "ghostscript"},
	{"pdftoppm", "poppler-utils"},
}

// findRenderer returns the renderer's name and path.
func (c *PDFConfig) findRenderer() (string, string, error) {
	look := c.LookPath
	if look == nil {
		look = exec.LookPath
	}
	var tried []string
	for _, r := range renderers {
		if c.Renderer != "" && c.Renderer != r.name {
			continue
		}
		if p, err := look(r.name); err == nil {
			return r.name, p, nil
		}
		tried = append(tried, fmt.Sprintf("%s (Debian package %s)", r.name, r.pkg))
	}
	if len(tried) == 0 {
		return "", "", fmt.Errorf("tiff: unknown PDF renderer %q (want gs or pdftoppm)", c.Renderer)
	}
	msg := tried[0]
	if len(tried) == 2 {
		msg = tried[0] + " nor " + tried[1]
	}
	return "", "", fmt.Errorf("%w: neither %s is installed", ErrNoRenderer, msg)
}

// RenderPDF renders a PDF document with an external program found at run
// time (Ghostscript's pnggray device or Poppler's pdftoppm) and calls page
// for every page, in order, with a grey image of it. The PDF goes to the
// renderer on its standard input and the pages come back as PNG images on
// its standard output, one at a time: no page image is written to disk
// and only one is in memory (Ghostscript does spool the PDF itself to a
// temporary file, as PDF needs random access). This package has no PDF
// parser of its own.
//
// The renderer is run with its safe mode (Ghostscript -dSAFER) but it
// remains a large C program parsing untrusted input: run it in a sandbox
// when the PDFs come from strangers, and bound it with ctx.
func RenderPDF(ctx context.Context, pdf io.Reader, cfg *PDFConfig, page func(i int, img image.Image) error) error {
	var c PDFConfig
	if cfg != nil {
		c = *cfg
	}
	if c.DPI == 0 {
		c.DPI = 300
	}
	if c.MaxPages == 0 {
		c.MaxPages = 1000
	}
	if c.MaxPageBytes == 0 {
		c.MaxPageBytes = 256 << 20
	}
	if c.DPI < 0 || c.DPI > 2400 || c.MaxPages < 0 || c.MaxPageBytes < 0 {
		return errors.New("tiff: bad PDFConfig")
	}
	name, path, err := c.findRenderer()
	if err != nil {
		return err
	}
	dpi := strconv.Itoa(c.DPI)
	var args []string
	switch name {
	case "gs":
		args = []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT",
			"-sDEVICE=pnggray", "-r" + dpi, "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
			"-dLastPage=" + strconv.Itoa(c.MaxPages+1), "-sOutputFile=-", "-"}
	case "pdftoppm":
		args = []string{"-gray", "-png", "-r", dpi, "-l", strconv.Itoa(c.MaxPages + 1), "-"}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = pdf
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("tiff: running %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tiff: running %s: %w", name, err)
	}
	br := bufio.NewReaderSize(out, 64<<10)
	n := 0
	var perr error
	for ; ; n++ {
		if _, err := br.Peek(1); err != nil {
			break // end of output
		}
		if n >= c.MaxPages {
			perr = fmt.Errorf("%w: more than %d PDF pages", ErrTooLarge, c.MaxPages)
			break
		}
		hdr, _ := br.Peek(64) // signature and IHDR: 33 bytes
		cfgImg, err := png.DecodeConfig(bytes.NewReader(hdr))
		if err != nil {
			perr = fmt.Errorf("tiff: reading page %d from %s: %w", n+1, name, err)
			break
		}
		if int64(cfgImg.Width)*int64(cfgImg.Height)*2 > c.MaxPageBytes {
			perr = fmt.Errorf("%w: rendered page %d is %d x %d pixels", ErrTooLarge, n+1, cfgImg.Width, cfgImg.Height)
			break
		}
		img, err := png.Decode(br)
		if err != nil {
			perr = fmt.Errorf("tiff: reading page %d from %s: %w", n+1, name, err)
			break
		}
		if err := page(n, img); err != nil {
			perr = err
			break
		}
	}
	if perr != nil {
		cancel()
		_, _ = io.Copy(io.Discard, br)
		_ = cmd.Wait()
		return perr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("tiff: %s failed: %w: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if n == 0 {
		return fmt.Errorf("tiff: %s rendered no pages: %s", name, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// PDFToFax renders a PDF (see RenderPDF) and writes its pages to w as fax
// pages converted with conv (see ToFax). It returns the number of fax pages
// written.
func PDFToFax(ctx context.Context, w *Writer, pdf io.Reader, cfg *PDFConfig, conv *ConvertConfig) (int, error) {
	c, err := conv.withDefaults()
	if err != nil {
		return 0, err
	}
	n := 0
	err = RenderPDF(ctx, pdf, cfg, func(_ int, img image.Image) error {
		pages, err := ToFax(img, &c)
		if err != nil {
			return err
		}
		for _, p := range pages {
			if err := w.WritePage(p, &PageOptions{Resolution: c.Resolution}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
