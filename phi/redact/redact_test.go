package redact_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/phi/redact"
)

// noTime drops the time from log lines: a timestamp's digits can hold
// the digits the tests look for ("...T10:51:16.555913119Z" failed one).
var noTime = &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}}

func TestHandlerRedacts(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, noTime), nil))
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

// The JSON handler marshals slog.Any values with encoding/json, which would
// write PHI types nested in structs, maps and slices in clear.
func TestHandlerRedactsNestedPHI(t *testing.T) {
	type call struct {
		Remote redact.FaxNumber
		Rate   int
	}
	type hidden struct {
		ident redact.StationID
		Pages int
	}
	type boxed struct{ V any }
	type plain struct {
		Pages int
		Label string
	}
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, noTime), nil))
	log.Info("m",
		"call", call{Remote: "+15551230001", Rate: 9600},
		"ptr", &call{Remote: "+15551230002"},
		"slice", []redact.Name{"Jane Roe"},
		"map", map[redact.FileName]int{"x-ray.tif": 1},
		"hidden", hidden{ident: "CLINIC ABC", Pages: 2},
		"boxed", boxed{V: redact.FaxNumber("+15551230003")},
		"err", fmt.Errorf("dial %v: busy", redact.FaxNumber("+15551230004")),
		"plain", plain{Pages: 3, Label: "cover"})
	out := buf.String()
	for _, s := range []string{"555123", "Jane", "x-ray", "CLINIC"} {
		if strings.Contains(out, s) {
			t.Errorf("log leaks %q: %s", s, out)
		}
	}
	for _, want := range []string{
		`"call":"{Remote:[REDACTED fax-number] Rate:9600}"`,
		`"hidden":"[REDACTED]"`,
		`"err":"dial [REDACTED fax-number]: busy"`,
		`"plain":{"Pages":3,"Label":"cover"}`, // no PHI type: left as it was
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %s in %s", want, out)
		}
	}
}
