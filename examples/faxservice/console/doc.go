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
//     a draft awaiting confirmation is sealed in the phi store as its
//     sender's document (the database row naming it holds no PHI), kept
//     15 minutes at most and shredded when sent, discarded, expired or
//     at sign-out, so any instance serves it (no sticky sessions);
//   - the page signs itself out after the idle timeout without keyboard
//     or pointer input (console.js; data-idle, Options.ClientIdle), and
//     the server ends the session in the same request.
//
// Read state: a received fax is unread (bold, "New") for each of its
// users until that user opens it or marks it read; the navigation counts
// the unread ones. The state is the service's (PUT and DELETE
// /v1/faxes/{id}/read, "read" on inbound items), so the API and the
// console agree.
//
// Call detail: every user who may see a fax sees each call's result,
// negotiated mode and pages; admins (the service's operators) also see
// the call's T.30 trace on a timeline (phases, frames, pages, the T.38
// packets that carried them; frames with idents or numbers redacted) and
// the T.38 or audio statistics, recorded by the service per outbound
// attempt and per received call (also served as JSON to admins by GET
// /v1/faxes/{id}/attempts/{n}/trace). The timeline is HTML and CSS only: positions are classes
// (at-N, w-N), since the CSP allows no inline style.
//
// Tests: ../console_test.go drives Debian's chromium headless through the
// whole front-desk day (keyboard sign-in, send TIFF, PNG and JPEG files
// with previews equal to the service's own conversion, live status to
// delivered, resend, inbox read state and unread count, pages checked
// pixel for pixel against the pages sent and the previews, the
// operator's call trace, refusals seen in the audit view, CSRF, lockout,
// delete, the server's idle timeout and the page's own idle sign-out, no
// PHI in URLs or titles, labels and alt text on every page, tablet
// width); ../console_http_test.go checks headers, cookies, CSRF, cancel,
// the admin and audit forms, read state through the API and the console,
// the stored trace, and drafts across two instances on SQLite and
// PostgreSQL over plain HTTPS.
//
// Limitations: the trace keeps a call's last 600 steps after folding
// repeated frames and packets, and holds the fax layers only (the SIP
// signalling of a call is not in it).
package console
