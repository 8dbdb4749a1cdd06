package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as "30s", "15m" in the config file.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Inbound is one T.38 listener and the number (DID) it answers for. Until
// SIP signalling carries the dialled number, each DID has its own port.
type Inbound struct {
	Addr string `json:"addr"`
	DID  string `json:"did"`
}

// Config is the service's configuration: a JSON file (-config) with
// FAXSERVICE_* environment overrides. Every field has a working default.
type Config struct {
	// Dir holds the sealed store, keys, audit log and the SQLite file.
	Dir string `json:"dir"`
	// KEKFile is the customer's key: the phi key file (Tink keyset of
	// KEKs) that wraps every document's data key and every backup's.
	// Default <Dir>/kek.json, created on first start; keep it off the
	// data volume in production (and out of backups: they hold none).
	KEKFile string `json:"kek_file"`
	// AuditKeyFile holds the audit log's keys; default <Dir>/audit.key.
	// Backups carry it (encrypted).
	AuditKeyFile string `json:"audit_key_file"`
	// DBDriver is "sqlite" (default) or "pgx"; DSN its data source
	// (default <Dir>/faxservice.db for SQLite).
	DBDriver string `json:"db_driver"`
	DSN      string `json:"dsn"`
	// HTTPAddr is the HTTPS API's address; default 127.0.0.1:8443.
	HTTPAddr string `json:"http_addr"`
	// CertFile and KeyFile: the TLS certificate; default self-signed.
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// Inbound T.38 listeners, each for one DID.
	Inbound []Inbound `json:"inbound"`
	// Peers maps E.164 prefixes ("+1555", or "+" for everything) to the
	// T.38 peer (HOST:PORT) a fax to that number is sent to; the longest
	// prefix wins. Stands in for a SIP trunk.
	Peers map[string]string `json:"peers"`
	// SIP is the SIP endpoint: inbound calls answered and routed by the
	// dialled number, outbound numbers sent through its trunk (numbers
	// matching a Peers prefix still go to that T.38 address). Nil: none.
	SIP *SIPConfig `json:"sip"`
	// Instance names this process in leases; default hostname-pid.
	Instance string `json:"instance"`
	// Workers is the number of concurrent outbound calls; default 4.
	Workers int `json:"workers"`
	// LeaseTTL is how long a claimed job stays claimed without a
	// heartbeat before another worker may take it; default 30s.
	LeaseTTL Duration `json:"lease_ttl"`
	// PollInterval is how often the webhook delivery loop looks for due
	// deliveries; default 500ms. (Queue workers do not poll: see
	// QueueMaxSleep.)
	PollInterval Duration `json:"poll_interval"`
	// QueueMaxSleep bounds how long an idle queue worker sleeps. A worker
	// sleeps until the earliest due time of a job (a queued job's run_at,
	// a leased job's lease expiry) or until a job is enqueued or changed
	// (in-process, and on PostgreSQL by LISTEN/NOTIFY from every instance
	// on the database); this bound is only a safety net, for a wake-up
	// lost with a database connection. Default 30s.
	QueueMaxSleep Duration `json:"queue_max_sleep"`
	// RetryDelays is the retry ladder: the delay before attempt 2, 3, ...
	// (the last repeats); default 1m, 5m, 15m.
	RetryDelays []Duration `json:"retry_delays"`
	// MaxAttempts bounds the attempts per fax; default 3.
	MaxAttempts int `json:"max_attempts"`
	// Retention is how long documents are kept; default 30 days.
	Retention Duration `json:"retention"`
	// PurgeInterval is how often expired documents are shredded;
	// default 1h.
	PurgeInterval Duration `json:"purge_interval"`
	// StationID is the service's own fax ident, sent as TSI when sending
	// and CSI when receiving (20 characters: digits, +, space); default
	// none.
	StationID string `json:"station_id"`
	// Unpaced sends without real-time pacing (loopback peers only).
	Unpaced bool `json:"unpaced"`
	// CallTimeout bounds one call; default 30m.
	CallTimeout Duration `json:"call_timeout"`
	// SessionIdle is the idle timeout of sign-in sessions; default 30m.
	SessionIdle Duration `json:"session_idle"`
	// LockoutAfter failed attempts lock an account for LockoutFor;
	// defaults 5 and 15m.
	LockoutAfter int      `json:"lockout_after"`
	LockoutFor   Duration `json:"lockout_for"`
	// IdempotencyTTL is how long an Idempotency-Key is remembered;
	// default 24h.
	IdempotencyTTL Duration `json:"idempotency_ttl"`
	// MaxUploadBytes bounds a send request; default 64 MiB.
	MaxUploadBytes int64 `json:"max_upload_bytes"`
	// WebhookRetryFor is how long a failing webhook delivery is retried;
	// default 72h.
	WebhookRetryFor Duration `json:"webhook_retry_for"`
	// AlertReads and AlertWindow: reading the content or metadata of
	// more than AlertReads distinct faxes within AlertWindow raises an
	// alert; defaults 50 and 10m.
	AlertReads  int      `json:"alert_reads"`
	AlertWindow Duration `json:"alert_window"`
	// PasswordIterations is the PBKDF2-SHA256 work factor; default 600000.
	PasswordIterations int `json:"password_iterations"`
}

// loadConfig reads path (if not empty) and applies FAXSERVICE_<FIELD>
// environment overrides for the scalar fields (FAXSERVICE_HTTP_ADDR ...).
func loadConfig(path string, env []string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("faxservice: config %s: %w", path, err)
		}
	}
	// Round-trip through a map so that overrides use the JSON names.
	m := map[string]any{}
	b, _ := json.Marshal(c)
	json.Unmarshal(b, &m)
	changed := false
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		name, isOurs := strings.CutPrefix(k, "FAXSERVICE_")
		if !ok || !isOurs {
			continue
		}
		name = strings.ToLower(name)
		cur, known := m[name]
		if !known {
			return c, fmt.Errorf("faxservice: unknown environment override %s", k)
		}
		switch cur.(type) {
		case float64:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("faxservice: %s: %w", k, err)
			}
			m[name] = n
		case bool:
			bv, err := strconv.ParseBool(v)
			if err != nil {
				return c, fmt.Errorf("faxservice: %s: %w", k, err)
			}
			m[name] = bv
		case string:
			m[name] = v
		default: // lists and maps: JSON
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return c, fmt.Errorf("faxservice: %s: %w", k, err)
			}
			m[name] = x
		}
		changed = true
	}
	if changed {
		b, _ := json.Marshal(m)
		c = Config{}
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("faxservice: environment overrides: %w", err)
		}
	}
	return c, nil
}

// withDefaults fills the defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, fmt.Errorf("faxservice: dir is required")
	}
	def := func(d *Duration, v time.Duration) {
		if *d <= 0 {
			*d = Duration(v)
		}
	}
	if c.DBDriver == "" {
		c.DBDriver = "sqlite"
	}
	if c.KEKFile == "" {
		c.KEKFile = filepath.Join(c.Dir, "kek.json")
	}
	if c.AuditKeyFile == "" {
		c.AuditKeyFile = filepath.Join(c.Dir, "audit.key")
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8443"
	}
	if c.Instance == "" {
		h, _ := os.Hostname()
		c.Instance = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	def(&c.LeaseTTL, 30*time.Second)
	def(&c.PollInterval, 500*time.Millisecond)
	def(&c.QueueMaxSleep, 30*time.Second)
	if len(c.RetryDelays) == 0 {
		c.RetryDelays = []Duration{Duration(time.Minute), Duration(5 * time.Minute), Duration(15 * time.Minute)}
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	def(&c.Retention, 30*24*time.Hour)
	def(&c.PurgeInterval, time.Hour)
	def(&c.AlertWindow, 10*time.Minute)
	if c.AlertReads <= 0 {
		c.AlertReads = 50
	}
	def(&c.CallTimeout, 30*time.Minute)
	def(&c.SessionIdle, 30*time.Minute)
	if c.LockoutAfter <= 0 {
		c.LockoutAfter = 5
	}
	def(&c.LockoutFor, 15*time.Minute)
	def(&c.IdempotencyTTL, 24*time.Hour)
	def(&c.WebhookRetryFor, 72*time.Hour)
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 64 << 20
	}
	if c.PasswordIterations <= 0 {
		c.PasswordIterations = 600_000
	}
	for p, addr := range c.Peers {
		if p == "" || p[0] != '+' {
			return c, fmt.Errorf("faxservice: peer prefix must start with +")
		}
		if _, _, err := splitHostPort(addr); err != nil {
			return c, fmt.Errorf("faxservice: peer for prefix %s: %w", p, err)
		}
	}
	return c, nil
}
