// Package console is faxservice's web console for clinic staff: sign in,
// send a fax with page previews, follow the outbox live, read the inbox
// with a page viewer, call details, the audit trail and administration.
//
// It is server-rendered (html/template) with one small script for live
// status and the client-side idle sign-out; every asset is embedded, so it
// works with no internet. It runs on the service's own HTTPS listener and
// service layer (Backend), never beside them: every document read is a
// guarded, audited read.
//
// Safeguards:
//   - the session token lives in a __Host- cookie (Secure, HttpOnly,
//     SameSite=Strict); the service's idle timeout and lockout apply;
//   - every form carries a CSRF token bound to the session (or, before
//     sign-in, to a pre-session cookie); a mismatch is refused and audited;
//   - a strict Content-Security-Policy (no inline script or style),
//     frame-ancestors 'none', Cache-Control: no-store on every response,
//     Clear-Site-Data on sign-out;
//   - no PHI in URLs or titles: pages are addressed by opaque fax IDs, and
//     the number to send to travels in a POST body;
//   - uploads are read into memory (bounded), never into temporary files;
//     a draft awaiting confirmation is kept in memory for 15 minutes at
//     most, bound to its user.
//
// Tests: ../console_test.go drives Debian's chromium headless through the
// whole front-desk day (keyboard sign-in, send with previews, live status
// to delivered, resend, inbox page checked pixel for pixel, refusals seen
// in the audit view, CSRF, lockout, delete, idle timeout, no PHI in URLs
// or titles, labels and alt text on every page, tablet width);
// ../console_http_test.go checks headers, cookies, CSRF, cancel and the
// admin and audit forms over plain HTTPS.
//
// Limitations: drafts live in the memory of the instance that converted
// them (behind a load balancer, use sticky sessions for /console/); the
// service keeps no T.30 frame trace or T.38 packet statistics yet, so the
// call detail shows the negotiated mode and result only; "mark as read"
// is not stored by the service yet.
package console
