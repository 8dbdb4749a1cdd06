package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Backend is what the console needs from the fax service. faxservice
// implements it in process on its own service layer: every document read
// goes through its phi.Guard and every decision lands in its audit log,
// exactly as for the JSON API. src is the client's address, recorded in
// the audit trail.
//
// Errors: *Error carries an HTTP status and a message without PHI that the
// console shows as is; ErrLocked and ErrAuth come from SignIn and
// Authenticate; anything else is shown as an internal error.
type Backend interface {
	// SignIn checks a user's password and opens a session whose token is
	// kept in the console's cookie. Failures count towards the account's
	// lockout.
	SignIn(ctx context.Context, name, password, src string) (session string, err error)
	// Authenticate checks a session (idle timeout, revocation, lockout).
	Authenticate(ctx context.Context, session, src string) (User, error)
	// SignOut revokes the session.
	SignOut(ctx context.Context, u User, session, src string)
	// Refused audits a request the console itself refused (a CSRF
	// failure, a role check). principal may be "" (anonymous).
	Refused(ctx context.Context, principal, src, detail string)
	// IdleTimeout is the sessions' idle timeout.
	IdleTimeout() time.Duration

	// Convert turns uploaded files (PDF, TIFF, PNG, JPEG) and an optional
	// cover page into one fax document (TIFF, fine A4), in memory.
	Convert(ctx context.Context, u User, src string, files [][]byte, cover Cover) (doc []byte, pages int, err error)
	// SaveDraft keeps a converted fax (doc, to the number to) for its
	// sender to check and confirm, until ttl has passed; any instance of
	// the service can serve it afterwards. It returns the draft's ID.
	SaveDraft(ctx context.Context, u User, src, to string, doc []byte, pages int, ttl time.Duration) (id string, err error)
	// DraftPage renders page n (from 1) of u's draft as PNG.
	DraftPage(ctx context.Context, u User, src, id string, n int) ([]byte, error)
	// SendDraft queues u's draft as a fax (once, even when submitted
	// twice) and returns the fax's ID.
	SendDraft(ctx context.Context, u User, src, id string) (string, error)
	// DiscardDraft destroys one of u's drafts; DiscardDrafts all of them
	// (at sign-out).
	DiscardDraft(ctx context.Context, u User, src, id string) error
	DiscardDrafts(ctx context.Context, u User, src string)
	// List lists the faxes u may see in one direction, newest first, a
	// page at a time: cursor "" is the first page; next is "" on the last.
	List(ctx context.Context, u User, src, direction, cursor string) (faxes []Fax, next string, err error)
	// Fax returns one fax's status and attempts; with meta, also its
	// sealed fields (number, remote idents), an audited metadata read.
	Fax(ctx context.Context, u User, src, id string, meta bool) (Fax, error)
	// Page renders page n (from 1) of a fax as PNG, from the sealed
	// document, in memory.
	Page(ctx context.Context, u User, src, id string, n int) ([]byte, error)
	// Content returns the document as "pdf" or "tiff".
	Content(ctx context.Context, u User, src, id, format string) ([]byte, error)
	Cancel(ctx context.Context, u User, src, id string) error
	Resend(ctx context.Context, u User, src, id string) (string, error)
	// Delete crypto-shreds a fax.
	Delete(ctx context.Context, u User, src, id string) error
	// MarkRead sets u's own read state of a fax (read or unread).
	MarkRead(ctx context.Context, u User, src, id string, read bool) error
	// Unread counts the received faxes u may see and has not read.
	Unread(ctx context.Context, u User) (int, error)
	// CallTrace returns call n's T.30/T.38 trace (PHI redacted) and its
	// statistics, for operators (admins); nil when u may not see traces
	// or none was recorded.
	CallTrace(ctx context.Context, u User, src, id string, n int) (*CallTrace, error)

	// Audit returns the audit events matching f, newest first, at most
	// limit; the read itself is audited (auditors only).
	Audit(ctx context.Context, u User, src string, f AuditFilter, limit int) ([]AuditEvent, error)
	// VerifyAudit checks the audit log's hash chain and checkpoints.
	VerifyAudit(ctx context.Context, u User, src string) (AuditCheck, error)
	// ExportAudit writes the matching events as JSON lines.
	ExportAudit(ctx context.Context, u User, src string, f AuditFilter, w io.Writer) (int, error)

	// Administration (admins only).
	Users(ctx context.Context, u User, src string) ([]User, error)
	CreateUser(ctx context.Context, u User, src, name string, roles []string, password string) (User, error)
	IssueToken(ctx context.Context, u User, src, userID string, ttlHours int) (id, token string, err error)
	RevokeToken(ctx context.Context, u User, src, tokenID string) error
	Routes(ctx context.Context, u User, src string) ([]Route, error)
	SetRoute(ctx context.Context, u User, src, did string, targets []string) error
	DeleteRoute(ctx context.Context, u User, src, did string) error
	Webhooks(ctx context.Context, u User, src string) ([]Webhook, error)
	AddWebhook(ctx context.Context, u User, src, url string, events []string) (Webhook, error)
	DeleteWebhook(ctx context.Context, u User, src, id string) error
	// Settings describes the service's retention, retry and session
	// settings for the admin page (read-only: they come from the
	// configuration file).
	Settings() []Setting
}

// User is a signed-in account (names and IDs are staff data, not PHI).
type User struct {
	ID       string
	Name     string
	Roles    []string
	Disabled bool
	Created  time.Time
}

// Has reports whether u has role ("admin", "sender", "inbox", "auditor").
func (u User) Has(role string) bool { return slices.Contains(u.Roles, role) }

// Cover is an optional cover page (PHI: rendered into the sealed document,
// never kept anywhere else).
type Cover struct{ To, From, Subject, Note string }

// Fax is a fax as the console shows it. Remote, DID and the attempts'
// RemoteIdent are PHI: filled only when asked for, shown only in page
// bodies (never in titles or URLs).
type Fax struct {
	ID         string
	Direction  string // "inbound" or "outbound"
	Status     string // queued, sending, delivered, failed, cancelled, received, partial
	Result     string
	Pages      int
	PagesSent  int
	ResendOf   string
	Created    time.Time
	Updated    time.Time
	Finished   time.Time
	Attempts   []Attempt
	Remote     string // the number sent to (outbound)
	DID        string // the number dialled (inbound)
	MetaLoaded bool
	Read       bool // inbound: u has read it (opened, or marked read)
}

// Attempt is one call of a fax.
type Attempt struct {
	N           int
	Started     time.Time
	Finished    time.Time
	Result      string
	ResultCode  int
	ResultText  string
	Pages       int
	BitRate     int
	Coding      string
	ECM         bool
	Duration    time.Duration
	RemoteIdent string
	Media       string // what the fax ran on last: "t38", "audio" or "" (none)
}

// CallTrace is one call's trace and statistics. Nothing in it is PHI:
// frames that carry idents or numbers are redacted by the library and
// again by the service.
type CallTrace struct {
	Records []TraceRecord
	Dropped int           // earlier records not kept (the trace keeps the last ones)
	Span    time.Duration // from the call's start to its last record
	// Transport names the media paths in order ("T.38 over UDPTL").
	Transport string
	Phases    []TracePhase // T.30 phases on the timeline (filled by the console)
	Stats     []StatGroup  // mode, T.30 counters, each media path
	Pages     []PageStat
}

// TraceRecord is one step: a T.30 phase, frame, page or result, a T.38
// indicator or data (consecutive packets folded: Count, Octets), or a
// call event.
type TraceRecord struct {
	At                      time.Duration
	Layer, Dir, Kind, Phase string
	Name, Text              string
	Count, Octets           int
	Pos                     int // position on the timeline, percent (filled by the console)
}

// TracePhase is a T.30 phase's span on the timeline, in percent.
type TracePhase struct {
	Name        string
	From, Width int
	At, Len     time.Duration
}

// StatGroup is a titled list of statistics.
type StatGroup struct {
	Title string
	Rows  []Setting
}

// PageStat describes one page of a call.
type PageStat struct {
	Number             int
	Mode               string
	Width, Rows, Bytes int
	BadRows, PPRs      int
	At                 time.Duration
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	Principal string // a user ID or name
	Document  string
	Action    string
	Outcome   string
	From, To  time.Time
}

// AuditEvent is one audit record (no PHI by construction).
type AuditEvent struct {
	Seq       uint64
	Time      time.Time
	Principal string
	Name      string // the principal's user name, when it is a user
	Action    string
	Document  string
	Source    string
	Outcome   string
	Detail    string
}

// AuditCheck is the result of verifying the audit log.
type AuditCheck struct {
	OK          bool
	Records     uint64
	Segments    int
	Checkpoints int
	Problem     string // why verification failed (no PHI)
	At          time.Time
}

// Route sends faxes dialled to DID ("default" for the rest) to users.
type Route struct {
	DID     string
	Targets []string
}

// Webhook is an endpoint of the signed-in user.
type Webhook struct {
	ID     string
	URL    string
	Events []string
	Secret string // only right after creation
}

// Setting is one read-only configuration value for the admin page.
type Setting struct{ Name, Value, Help string }

// Error is a refusal with an HTTP status and a message free of PHI.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Msg) }

// Sign-in errors.
var (
	ErrAuth   = errors.New("console: authentication failed")
	ErrLocked = errors.New("console: account locked")
)
