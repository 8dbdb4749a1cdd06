package main

import (
	"context"
	"slices"

	"github.com/faxkit/faxkit/t30"
)

// The retry ladder. A failed attempt that is worth another (retryable)
// is tried again after RetryDelays[n-1] (the last repeats), at most
// MaxAttempts times in all, and each attempt is planned from the one
// before:
//
//   - a partial delivery is resent from the first page the receiver did
//     not confirm (faxes.pages_sent counts the leading pages confirmed
//     over all attempts; the Report's PageStats say which were);
//   - a training failure is retried one V.17/V.29/V.27ter step lower than
//     the rate it failed at (14400, 12000, 9600, 7200, 4800, 2400);
//   - an ECM failure is retried with ECM toggled (off if it was on, on
//     again if an earlier step had turned it off);
//   - pages rejected (RTN) without ECM are retried with ECM on, or, if ECM
//     was allowed and the receiver has none, one rate step lower.
//
// Other knobs carry over: a fax that needed 9600 bit/s keeps it after a
// later busy signal.

// attemptPlan is what an attempt is asked to do.
type attemptPlan struct {
	FirstPage int  // 1-based page the attempt starts from
	MaxRate   int  // bit/s cap; 0 = no cap (14400)
	ECMOff    bool // ECM not offered
}

// attemptResult is what the previous attempt reported.
type attemptResult struct {
	Result  string // t30.Result's name, "interrupted" or "error"
	BitRate int    // the image rate last used; 0 if no page phase
	ECM     bool   // ECM was used
}

var rateSteps = []int{14400, 12000, 9600, 7200, 4800, 2400}

// lowerRate is the step below the rate an attempt failed at.
func lowerRate(used, capped int) int {
	r := used
	if r == 0 {
		r = capped
	}
	if r == 0 {
		r = rateSteps[0]
	}
	for _, s := range rateSteps {
		if s < r {
			return s
		}
	}
	return rateSteps[len(rateSteps)-1]
}

// nextPlan plans the attempt after prev, which ended with res, when the
// first confirmedThrough pages have been confirmed over all attempts.
func nextPlan(prev attemptPlan, res attemptResult, confirmedThrough int) attemptPlan {
	next := prev
	next.FirstPage = confirmedThrough + 1
	switch res.Result {
	case t30.ResultTrainingFailed.String():
		next.MaxRate = lowerRate(res.BitRate, prev.MaxRate)
	case t30.ResultECMFailure.String():
		next.ECMOff = !prev.ECMOff
	case t30.ResultPageRejected.String():
		if res.ECM || !prev.ECMOff {
			next.MaxRate = lowerRate(res.BitRate, prev.MaxRate)
		} else {
			next.ECMOff = false
		}
	}
	return next
}

// leadingRun is the number of leading pages (1, 2, ...) confirmed.
func leadingRun(confirmed []int) int {
	n := 0
	for slices.Contains(confirmed, n+1) {
		n++
	}
	return n
}

// planFor reads the previous attempt and plans attempt n.
func (s *Service) planFor(ctx context.Context, fax string, n int) attemptPlan {
	var p attemptPlan
	var res attemptResult
	var ecm, ecmOff, through int
	s.db.queryRow(ctx, `SELECT pages_sent FROM faxes WHERE id = ?`, fax).Scan(&through)
	err := s.db.queryRow(ctx, `SELECT first_page, max_rate, ecm_off, result, bit_rate, ecm FROM attempts WHERE fax_id = ? AND n = ?`, fax, n-1).
		Scan(&p.FirstPage, &p.MaxRate, &ecmOff, &res.Result, &res.BitRate, &ecm)
	if err != nil {
		return attemptPlan{FirstPage: through + 1}
	}
	p.ECMOff, res.ECM = ecmOff != 0, ecm != 0
	return nextPlan(p, res, through)
}

// fromPage is a document without its first skip pages.
type fromPage struct {
	t30.Document
	skip int
}

func (d fromPage) NumPages() int                            { return d.Document.NumPages() - d.skip }
func (d fromPage) Format(i int) t30.PageFormat              { return d.Document.Format(i + d.skip) }
func (d fromPage) Encode(i int, m t30.Mode) ([]byte, error) { return d.Document.Encode(i+d.skip, m) }
