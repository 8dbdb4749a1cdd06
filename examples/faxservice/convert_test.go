package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/tiff"
)

// TestPDFUpload sends a PDF (made by the service's own PDF export, so a
// CCITT G4 PDF) and checks that Ghostscript or Poppler renders it into as
// many fax pages, and that the PDF export parses with poppler's pdfinfo.
func TestPDFUpload(t *testing.T) {
	if _, err := exec.LookPath("gs"); err != nil {
		peertest.Program(t, "pdftoppm", "apt-get install ghostscript or poppler-utils")
	}
	doc, _ := letterTIFF(t, 2)
	r, err := tiff.NewReader(bytes.NewReader(doc), int64(len(doc)), nil)
	require.NoError(t, err)
	var pdf bytes.Buffer
	require.NoError(t, writePDF(&pdf, r))
	if info, err := exec.LookPath("pdfinfo"); err == nil {
		cmd := exec.Command(info, "-")
		cmd.Stdin = bytes.NewReader(pdf.Bytes())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Regexp(t, `Pages:\s+2\n`, string(out))
	}
	e := newEnv(t, nil)
	_, alice := e.user("alice", "sender")
	code, st, body := e.send(alice, nil, part{name: "to", data: []byte("+15550199")}, part{name: "file", file: "a.pdf", data: pdf.Bytes()})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	require.Equal(t, 2, st.Pages)
	// Not inverted: a letter is mostly white (BlackIs1 read right).
	code, got, _ := e.do("GET", "/v1/faxes/"+st.ID+"/content", alice, nil, nil)
	require.Equal(t, http.StatusOK, code)
	for _, p := range tiffPages(t, got) {
		require.Less(t, p.Black(), p.Width*p.Height/5)
		require.Greater(t, p.Black(), p.Width*p.Height/500)
	}
}
