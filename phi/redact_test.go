package phi

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/phi/redact"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactingHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil), nil))
	num := redact.FaxNumber("+15551234567")
	log = log.With("remote", "+15559876543", slog.Group("peer", "tsi", "SECRET TSI"))
	log.Info("page received",
		"number", num,
		"ident", redact.StationID("ACME CLINIC"),
		"who", redact.Name("Jane Doe"),
		"doc", redact.FileName("jane-labs.tif"),
		"meta", testMeta,
		"nested", slog.GroupValue(slog.String("patient", "John Roe"), slog.Any("n", num)),
		"err", fmt.Errorf("dial %v failed", num),
		"pages", 3,
	)
	out := buf.String()
	for _, s := range []string{"5551234567", "5559876543", "SECRET", "ACME", "Jane", "John", "jane-labs"} {
		require.NotContains(t, out, s)
	}
	require.Contains(t, out, `"pages":3`)
	require.Contains(t, out, "page received")
	require.Contains(t, out, "[REDACTED fax-number]")
}

func TestPHITypesRedactInFormatting(t *testing.T) {
	n := redact.FaxNumber("+15551234567")
	for _, s := range []string{fmt.Sprint(n), fmt.Sprintf("%s %v %q %x %#v %+v", n, n, n, n, n, n),
		errors.New("x " + fmt.Sprint(redact.StationID("ACME"))).Error(), fmt.Sprint(redact.Name("Jane"), redact.FileName("a.tif")),
		fmt.Sprintf("%v", testMeta)} {
		require.NotContains(t, s, "555")
		require.NotContains(t, s, "ACME")
		require.NotContains(t, s, "Jane")
		require.NotContains(t, s, "a.tif")
	}
	require.Equal(t, "+15551234567", n.Reveal())
}

func TestRedactingHandlerCustomKeys(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewTextHandler(&buf, nil), &redact.Options{Keys: []string{"mrn"}}))
	log.WithGroup("g").Info("x", "mrn", "12345678", "name", "kept")
	require.NotContains(t, buf.String(), "12345678")
	require.Contains(t, buf.String(), "kept")
}
