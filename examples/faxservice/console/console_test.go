package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// Every template and asset obeys the CSP: no inline script, no inline
// style, no event-handler attributes, nothing from another origin.
func TestTemplatesNeedNoUnsafeInline(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`\sstyle\s*=`),
		regexp.MustCompile(`<style\b`),
		regexp.MustCompile(`\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`),
		regexp.MustCompile(`(?i)javascript:`),
	}
	n := 0
	for _, fsys := range []fs.FS{templateFS, staticFS} {
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
				return err
			}
			b, _ := fs.ReadFile(fsys, p)
			for _, tag := range regexp.MustCompile(`<script\b[^>]*>`).FindAll(b, -1) {
				if !strings.Contains(string(tag), " src=") {
					t.Errorf("%s: %s: a script without src", p, tag)
				}
			}
			for _, re := range bad {
				if m := re.Find(b); m != nil {
					t.Errorf("%s: %q breaks the CSP", p, m)
				}
			}
			n++
			return nil
		})
	}
	if n < 10 {
		t.Fatalf("only %d templates checked", n)
	}
	if !strings.Contains(CSP, "script-src 'self'") || strings.Contains(CSP, "unsafe") {
		t.Fatalf("CSP %q", CSP)
	}
}

func TestTemplatesParse(t *testing.T) {
	ts := parseTemplates()
	for _, name := range []string{"signin", "error", "send", "preview", "outbox", "inbox", "fax", "viewer", "delete", "call", "audit", "admin"} {
		if ts[name] == nil || ts[name].Lookup("layout") == nil || ts[name].Lookup("main") == nil {
			t.Errorf("template %s missing", name)
		}
	}
}

func TestNormalizeNumber(t *testing.T) {
	for in, want := range map[string]string{"+1 555 010 0100": "+15550100100", " +1 (555) 010-0100 ": "+15550100100", "5550100": "5550100", "+44+20": "+4420"} {
		if got := normalizeNumber(in); got != want {
			t.Errorf("normalizeNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// Statuses read as a front desk would say them; a failure gives the T.30
// reason in words.
func TestStatusWords(t *testing.T) {
	failed := Attempt{N: 1, Result: "training-failed", ResultText: "the line was too poor to train at any speed"}
	for _, c := range []struct {
		f    Fax
		want string
	}{
		{Fax{Status: "queued"}, "Waiting to be sent"},
		{Fax{Status: "queued", Attempts: []Attempt{failed}}, "Waiting to try again (attempt 1: the line was too poor to train at any speed)"},
		{Fax{Status: "sending", Pages: 3, PagesSent: 1}, "Sending: 1 of 3 pages confirmed"},
		{Fax{Status: "delivered", Pages: 3}, "Delivered: all 3 pages confirmed by the receiving machine"},
		{Fax{Status: "failed", Attempts: []Attempt{failed}}, "Failed: the line was too poor to train at any speed"},
		{Fax{Status: "failed", Attempts: []Attempt{{Result: "no-answer"}}}, "Failed: no answer"},
		{Fax{Status: "failed"}, "Failed: no call was made"},
		{Fax{Status: "partial", Pages: 2}, "Partly received: the call failed after 2 pages, which were kept"},
	} {
		if got := statusWords(c.f); got != c.want {
			t.Errorf("statusWords(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

// The audit view's action filter offers every action the audit log
// records (a written list lacked backup, restore, alert and
// integrity-failure).
func TestAuditFilterOffersEveryAction(t *testing.T) {
	for _, want := range []string{"create", "read-content", "receive", "backup", "restore", "alert", "integrity-failure"} {
		found := false
		for _, a := range actions {
			found = found || a == want
		}
		if !found {
			t.Errorf("audit filter lacks %q: %v", want, actions)
		}
	}
	for _, a := range actions {
		if a == "unknown" || strings.HasPrefix(a, "Action(") {
			t.Errorf("audit filter offers %q", a)
		}
	}
}
