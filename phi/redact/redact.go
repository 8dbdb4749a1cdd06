// Package redact keeps protected health information (PHI) out of logs. It
// is a leaf package (standard library only) so every faxkit package that
// logs can use it without depending on phi's storage and crypto.
//
// FaxNumber, StationID, Name and FileName redact themselves in slog (via
// slog.LogValuer) and in fmt verbs; Handler wraps any slog.Handler and also
// redacts attributes whose keys are marked PHI, at any group depth.
//
//	logger := slog.New(redact.NewHandler(slog.NewJSONHandler(os.Stderr, nil), nil))
//	logger.Info("call", "remote", redact.FaxNumber(num)) // remote="[REDACTED fax-number]"
//
// Handler also catches PHI types nested in structs, maps, slices and
// pointers logged with slog.Any, which the JSON handler would otherwise
// marshal in clear: such values are rendered with fmt (so each PHI value
// formats itself redacted), or redacted whole when a PHI type sits behind
// an unexported field.
//
// Limitation: a PHI value already formatted into a plain string (for
// example with string(n) inside an error message) cannot be recognised;
// keep PHI typed until the point of use. Types with their own
// MarshalJSON, MarshalText, String or Error method are trusted to keep
// PHI types redacted.
package redact

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
)

// Redacted replaces values of attributes whose key is marked PHI.
const Redacted = "[REDACTED]"

// PHI-bearing string types. Each redacts itself in logs (slog.LogValuer),
// in fmt verbs (%v %s %q %x %#v via fmt.Formatter) and in errors built with
// them. Convert explicitly (string(n) or n.Reveal()) where the clear value
// is really needed, e.g. to dial.
type (
	FaxNumber string // a telephone number (E.164 or local dial string)
	StationID string // a T.30 TSI/CSI/CIG station identifier
	Name      string // a person's or organisation's name
	FileName  string // a document's original file name
)

func (FaxNumber) LogValue() slog.Value { return slog.StringValue("[REDACTED fax-number]") }
func (StationID) LogValue() slog.Value { return slog.StringValue("[REDACTED station-id]") }
func (Name) LogValue() slog.Value      { return slog.StringValue("[REDACTED name]") }
func (FileName) LogValue() slog.Value  { return slog.StringValue("[REDACTED file-name]") }

func (v FaxNumber) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.LogValue().String()) }
func (v StationID) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.LogValue().String()) }
func (v Name) Format(f fmt.State, _ rune)      { fmt.Fprint(f, v.LogValue().String()) }
func (v FileName) Format(f fmt.State, _ rune)  { fmt.Fprint(f, v.LogValue().String()) }

// Reveal returns the clear value. Never log it.
func (v FaxNumber) Reveal() string { return string(v) }

// Reveal returns the clear value. Never log it.
func (v StationID) Reveal() string { return string(v) }

// Reveal returns the clear value. Never log it.
func (v Name) Reveal() string { return string(v) }

// Reveal returns the clear value. Never log it.
func (v FileName) Reveal() string { return string(v) }

// Options configures NewHandler.
type Options struct {
	// Keys are attribute keys whose values are always redacted, whatever
	// their type (matched case-sensitively at any group depth). Default:
	// DefaultPHIKeys.
	Keys []string
}

// DefaultPHIKeys are attribute keys treated as PHI by default.
var DefaultPHIKeys = []string{
	"fax_number", "faxnumber", "number", "remote", "remote_number", "caller", "callee",
	"tsi", "csi", "cig", "station_id", "ident", "remote_ident", "local_ident",
	"name", "patient", "contact", "file", "filename", "file_name", "path",
}

// Handler wraps another slog.Handler and redacts PHI before records
// reach it: values of the PHI types (and any other slog.LogValuer, which is
// resolved first), attributes whose key is marked PHI, inside groups too.
// Every faxkit package that logs should be handed a logger built on it.
type Handler struct {
	next slog.Handler
	keys map[string]bool
}

// NewHandler wraps next. A nil opts uses DefaultPHIKeys.
func NewHandler(next slog.Handler, opts *Options) *Handler {
	keys := DefaultPHIKeys
	if opts != nil && opts.Keys != nil {
		keys = opts.Keys
	}
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return &Handler{next: next, keys: m}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.redact(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.redact(a)
	}
	return &Handler{next: h.next.WithAttrs(red), keys: h.keys}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), keys: h.keys}
}

func (h *Handler) redact(a slog.Attr) slog.Attr {
	if h.keys[a.Key] {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve() // PHI types turn into their redacted form here
	switch v.Kind() {
	case slog.KindGroup:
		g := slices.Clone(v.Group())
		for i := range g {
			g[i] = h.redact(g[i])
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(g...)}
	case slog.KindAny:
		return slog.Attr{Key: a.Key, Value: redactComposite(v)}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactComposite handles a struct, map, slice, array or pointer that
// holds PHI types. Handlers render such values by reflection (the JSON
// handler with encoding/json, which knows nothing of the PHI types and
// writes them in clear), so a value whose type can reach a PHI type is
// formatted with fmt instead, which calls each PHI value's Format; if a
// PHI type (or an interface) is reachable only through an unexported
// field, where fmt cannot call methods either, the whole value is
// redacted. Values that render themselves (error, fmt.Stringer,
// encoding.TextMarshaler, json.Marshaler) are left alone.
func redactComposite(v slog.Value) slog.Value {
	x := v.Any()
	switch x.(type) {
	case nil, error, fmt.Stringer, encoding.TextMarshaler, json.Marshaler:
		return v
	}
	switch phiReach(reflect.TypeOf(x)) {
	case reachFormatted:
		return slog.StringValue(fmt.Sprintf("%+v", x))
	case reachHidden:
		return slog.StringValue(Redacted)
	}
	return v
}

type reach int

const (
	reachNone      reach = iota // no PHI type inside
	reachFormatted              // PHI only where fmt calls Format
	reachHidden                 // PHI possible behind an unexported field
)

var (
	phiTypes = map[reflect.Type]bool{
		reflect.TypeFor[FaxNumber](): true, reflect.TypeFor[StationID](): true,
		reflect.TypeFor[Name](): true, reflect.TypeFor[FileName](): true,
	}
	reachCache sync.Map // reflect.Type -> reach
)

func phiReach(t reflect.Type) reach {
	if r, ok := reachCache.Load(t); ok {
		return r.(reach)
	}
	r := walkReach(t, false, map[reflect.Type]bool{})
	reachCache.Store(t, r)
	return r
}

// walkReach reports how a PHI type can be reached from t; hidden says t
// itself was reached through an unexported struct field.
func walkReach(t reflect.Type, hidden bool, seen map[reflect.Type]bool) reach {
	if phiTypes[t] || t.Kind() == reflect.Interface {
		if hidden {
			return reachHidden
		}
		// fmt formats an exported interface's dynamic value with its
		// Format method too; encoding/json would not.
		return reachFormatted
	}
	if seen[t] {
		return reachNone
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return walkReach(t.Elem(), hidden, seen)
	case reflect.Map:
		return max(walkReach(t.Key(), hidden, seen), walkReach(t.Elem(), hidden, seen))
	case reflect.Struct:
		r := reachNone
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			r = max(r, walkReach(f.Type, hidden || !f.IsExported(), seen))
		}
		return r
	}
	return reachNone
}
