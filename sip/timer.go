package sip

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028).
//
//	Session-Expires  =  ("Session-Expires" / "x") HCOLON delta-seconds
//	                    *(SEMI se-params)
//	se-params        =  refresher-param / generic-param
//	refresher-param  =  "refresher" EQUAL  ("uas" / "uac")
//	Min-SE  =  "Min-SE" HCOLON delta-seconds *(SEMI generic-param)
//
// The refresher is named relative to the transaction that negotiated it:
// "uac" is whoever sent that INVITE (or UPDATE), "uas" whoever answered it.

// sessionTimer is a negotiated session timer: the interval, and whether
// this side sends the refreshes.
type sessionTimer struct {
	interval  time.Duration // zero: no session timer
	weRefresh bool
}

// maxSessionInterval caps what a peer can make us schedule (a day).
const maxSessionInterval = 24 * time.Hour

// parseSessionExpires reads a Session-Expires value ("1800;refresher=uac").
// refresher is "uac", "uas" or "" when absent. ok is false for a value that
// is not delta-seconds (hostile or broken: treated as absent).
func parseSessionExpires(v string) (d time.Duration, refresher string, ok bool) {
	num, params, _ := strings.Cut(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
	if err != nil || n == 0 {
		return 0, "", false
	}
	d = min(time.Duration(n)*time.Second, maxSessionInterval)
	for p := range strings.SplitSeq(params, ";") {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			switch r := strings.ToLower(strings.TrimSpace(val)); r {
			case "uac", "uas":
				refresher = r
			}
		}
	}
	return d, refresher, true
}

type headerGetter interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// sessionExpiresHeader is the value of a message's Session-Expires header
// (full or compact form), "" when absent.
func sessionExpiresHeader(m headerGetter) string {
	for _, name := range []string{"session-expires", "x"} {
		if h := m.GetHeader(name); h != nil {
			return h.Value()
		}
	}
	return ""
}

// supportsTimer reports whether a request lists "timer" in Supported (or
// Require).
func supportsTimer(m headerGetter) bool {
	for _, name := range []string{"supported", "k", "require"} {
		for _, h := range m.GetHeaders(name) {
			for t := range strings.SplitSeq(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), "timer") {
					return true
				}
			}
		}
	}
	return false
}

// seValue formats a Session-Expires value.
func seValue(d time.Duration, refresher string) string {
	v := strconv.FormatInt(int64(d/time.Second), 10)
	if refresher != "" {
		v += ";refresher=" + refresher
	}
	return v
}

// uasSessionTimer decides, as the UAS of a transaction (the initial INVITE
// or a refresh), the session timer to answer with (RFC 4028 clause 9): the
// request's interval, else want (0: none) raised to the request's Min-SE
// (an interval the UAS adds must not be below it); the refresher the
// request asks for, else the UAC if it supports timers, else us. It returns the
// Session-Expires value for the 2xx ("" none), whether the 2xx must carry
// Require: timer, and the timer; tooSmall when the request's interval is
// under minSE (answer 422 with Min-SE).
func uasSessionTimer(req *sip.Request, want, minSE time.Duration) (se string, require bool, st sessionTimer, tooSmall bool) {
	return uasSessionTimerKeep(req, want, minSE, false)
}

// uasSessionTimerKeep is uasSessionTimer mid-dialog: weRefresh says we are
// the refresher now, and a request that names no refresher keeps it so
// (RFC 4028 clause 9 leaves the choice to the UAS).
func uasSessionTimerKeep(req *sip.Request, want, minSE time.Duration, weRefresh bool) (se string, require bool, st sessionTimer, tooSmall bool) {
	d, refresher, ok := parseSessionExpires(sessionExpiresHeader(req))
	uacTimer := supportsTimer(req)
	switch {
	case ok:
		if d < minSE {
			return "", false, st, true
		}
		if refresher == "" {
			refresher = "uas"
			if uacTimer && !weRefresh {
				refresher = "uac"
			}
		}
	case want > 0:
		d = max(want, minSE, minSEOf(req))
		refresher = "uas"
	default:
		return "", false, st, false
	}
	st = sessionTimer{interval: d, weRefresh: refresher == "uas"}
	return seValue(d, refresher), refresher == "uac", st, false
}

// uacSessionTimer reads the session timer from a 2xx to a request we sent
// (RFC 4028 clause 7.2): none when the 2xx has no Session-Expires.
func uacSessionTimer(res *sip.Response) sessionTimer {
	d, refresher, ok := parseSessionExpires(sessionExpiresHeader(res))
	if !ok {
		return sessionTimer{}
	}
	// A 2xx without refresher: clause 7.2 says the UAC then refreshes
	// (it had offered to, by not naming one).
	return sessionTimer{interval: d, weRefresh: refresher != "uas"}
}

// parseMinSE reads a Min-SE value ("1800", "1800;param"): ok is false for
// anything but delta-seconds above zero and at most maxSessionInterval (a
// peer cannot make us ask for an interval we would not schedule).
func parseMinSE(v string) (time.Duration, bool) {
	num, _, _ := strings.Cut(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
	if err != nil || n == 0 || time.Duration(n)*time.Second > maxSessionInterval {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// minSEOf is the Min-SE of a message (a 422, a peer's refresh): 0 when
// absent or unusable.
func minSEOf(m headerGetter) time.Duration {
	h := m.GetHeader("min-se")
	if h == nil {
		return 0
	}
	d, _ := parseMinSE(h.Value())
	return d
}

// retryInterval decides the retry of a request of ours that asked for the
// session interval sent (0: it carried no Session-Expires) and was
// answered 422 with Min-SE peerMin (0: absent or unusable). RFC 4028
// clause 7.4: the retry asks for at least the Min-SE (and never less than
// our own, ourMin). A 422 without a usable Min-SE, or with one no larger
// than what we asked for (a peer contradicting itself), is not retried.
func retryInterval(peerMin, sent, ourMin time.Duration) (time.Duration, bool) {
	if peerMin <= 0 || peerMin > maxSessionInterval || peerMin <= sent {
		return 0, false
	}
	return max(peerMin, ourMin), true
}

// invited sets up the session timer of a call we answered: st is the one
// our 2xx to its initial INVITE req names (uasSessionTimer). The INVITE's
// Allow says whether our refreshes may go by UPDATE, and its Min-SE is the
// first the dialog has seen: RFC 4028 clause 7.4 wants every later
// refresh and re-INVITE of ours to ask for at least the largest Min-SE
// seen in the dialog, and to carry it.
func (m *machine) invited(req headerGetter, st sessionTimer) {
	m.st = st
	m.peerUpdate = allows(req, "UPDATE")
	m.minSEHeard(minSEOf(req))
}

// dialed sets up the session timer of a call we placed, from the 2xx to
// its INVITE (RFC 4028 clause 7.2). peerMin is the largest Min-SE of the
// 422s the INVITE drew before it (0: none): later requests of ours keep
// asking for at least it.
func (m *machine) dialed(res *sip.Response, peerMin time.Duration) {
	m.st = uacSessionTimer(res)
	m.peerUpdate = allows(res, "UPDATE")
	m.minSEHeard(peerMin)
	m.timerDemanded = peerMin > 0
}
