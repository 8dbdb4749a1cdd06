package console

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"
)

func fsSub(f fs.FS, dir string) (fs.FS, error) { return fs.Sub(f, dir) }

var funcs = template.FuncMap{
	"when":      when,
	"list":      func(xs ...string) []string { return xs },
	"status":    statusWords,
	"badge":     badge,
	"join":      strings.Join,
	"short":     shortID,
	"pct":       pct,
	"lastError": lastError,
	"kbps":      func(b int) string { return fmt.Sprintf("%.1f kbit/s", float64(b)/1000) },
	"prefix":    func() string { return Prefix },
	"has":       func(u *User, role string) bool { return u != nil && u.Has(role) },
	"dur":       func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() },
	"ms":        func(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) },
	"arrow": func(dir string) string {
		switch dir {
		case "tx":
			return "sent"
		case "rx":
			return "received"
		}
		return ""
	},
	"checked": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
}

func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// statusWords says a fax's state the way a front desk would.
func statusWords(f Fax) string {
	switch f.Status {
	case "queued":
		if len(f.Attempts) > 0 {
			return fmt.Sprintf("Waiting to try again (attempt %d: %s)", len(f.Attempts), lastError(f))
		}
		return "Waiting to be sent"
	case "sending":
		return fmt.Sprintf("Sending: %d of %d pages confirmed", f.PagesSent, f.Pages)
	case "delivered":
		return fmt.Sprintf("Delivered: all %d pages confirmed by the receiving machine", f.Pages)
	case "failed":
		return "Failed: " + lastError(f)
	case "cancelled":
		return "Cancelled"
	case "received":
		return fmt.Sprintf("Received, %d pages", f.Pages)
	case "partial":
		return fmt.Sprintf("Partly received: the call failed after %d pages, which were kept", f.Pages)
	}
	return f.Status
}

// lastError is the last attempt's result in plain words.
func lastError(f Fax) string {
	if len(f.Attempts) == 0 {
		return "no call was made"
	}
	a := f.Attempts[len(f.Attempts)-1]
	if a.ResultText != "" {
		return a.ResultText
	}
	if a.Result != "" {
		return strings.ReplaceAll(a.Result, "-", " ")
	}
	return "unknown"
}

// badge is the CSS class of a status.
func badge(status string) string {
	switch status {
	case "delivered", "received":
		return "ok"
	case "failed", "partial":
		return "bad"
	case "sending", "queued":
		return "busy"
	}
	return "idle"
}

func pct(a, b int) int {
	if b <= 0 {
		return 0
	}
	return a * 100 / b
}
