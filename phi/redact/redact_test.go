package redact_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/phi/redact"
)

func TestHandlerRedacts(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil), nil))
	log.With("csi", "ACME CLINIC").WithGroup("call").Info("page",
		"remote", redact.FaxNumber("+15551234567"),
		"peer", slog.GroupValue(slog.Any("tsi", redact.StationID("BOB FAX")), slog.String("name", "Jane Roe")),
		"file", redact.FileName("x-ray.tif"),
		"who", redact.Name("Dr Who"),
		"rate", 14400)
	out := buf.String()
	for _, s := range []string{"555", "ACME", "BOB", "Jane", "x-ray", "Dr Who"} {
		if strings.Contains(out, s) {
			t.Errorf("log leaks %q: %s", s, out)
		}
	}
	if !strings.Contains(out, `"rate":14400`) {
		t.Errorf("non-PHI attribute lost: %s", out)
	}
}

func TestFormattingRedacts(t *testing.T) {
	n := redact.FaxNumber("+15551234567")
	s := fmt.Sprintf("%v %s %q %x %#v %d", n, n, n, n, n, n) + fmt.Errorf("dial %v", n).Error()
	if strings.Contains(s, "555") {
		t.Fatalf("formatting leaks: %s", s)
	}
	if n.Reveal() != "+15551234567" {
		t.Fatal("Reveal")
	}
}

func ExampleNewHandler() {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}), nil))
	log.Info("connected", "remote", redact.FaxNumber("+15550100"), "tsi", "CLINIC", "rate", 9600)
	fmt.Print(buf.String())
	// Output:
	// level=INFO msg=connected remote=[REDACTED] tsi=[REDACTED] rate=9600
}
