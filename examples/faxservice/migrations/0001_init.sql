-- Version 1: the service's whole state except sealed documents (phi store)
-- and the audit log (phi audit directory). Portable SQL: it runs unchanged
-- on SQLite and PostgreSQL. Times are Unix nanoseconds (BIGINT). No column
-- holds PHI: fax numbers, idents and cover fields stay in sealed metadata.

CREATE TABLE users (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	roles        TEXT NOT NULL,
	secret_hash  TEXT NOT NULL DEFAULT '',
	failed       INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0,
	disabled     INTEGER NOT NULL DEFAULT 0,
	created      BIGINT NOT NULL
);

CREATE TABLE tokens (
	id        TEXT PRIMARY KEY,
	user_id   TEXT NOT NULL REFERENCES users(id),
	kind      TEXT NOT NULL,
	hash      TEXT NOT NULL,
	created   BIGINT NOT NULL,
	expires   BIGINT NOT NULL DEFAULT 0,
	revoked   BIGINT NOT NULL DEFAULT 0,
	last_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE grants (
	document  TEXT NOT NULL,
	principal TEXT NOT NULL,
	perms     BIGINT NOT NULL,
	PRIMARY KEY (document, principal)
);
CREATE INDEX grants_principal ON grants(principal);

CREATE TABLE routes (
	did     TEXT PRIMARY KEY,
	targets TEXT NOT NULL,
	updated BIGINT NOT NULL
);

CREATE TABLE faxes (
	id           TEXT PRIMARY KEY,
	owner        TEXT NOT NULL,
	direction    TEXT NOT NULL,
	status       TEXT NOT NULL,
	result       TEXT NOT NULL DEFAULT '',
	pages        INTEGER NOT NULL DEFAULT 0,
	pages_sent   INTEGER NOT NULL DEFAULT 0,
	attempts     INTEGER NOT NULL DEFAULT 0,
	did          TEXT NOT NULL DEFAULT '',
	resend_of    TEXT NOT NULL DEFAULT '',
	peer         TEXT NOT NULL DEFAULT '',
	event_seq    INTEGER NOT NULL DEFAULT 0,
	created      BIGINT NOT NULL,
	updated      BIGINT NOT NULL,
	finished     BIGINT NOT NULL DEFAULT 0,
	deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX faxes_created ON faxes(created, id);

CREATE TABLE jobs (
	fax_id      TEXT PRIMARY KEY REFERENCES faxes(id),
	state       TEXT NOT NULL,
	run_at      BIGINT NOT NULL,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	attempt     INTEGER NOT NULL DEFAULT 0,
	cancel      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_ready ON jobs(state, run_at);

CREATE TABLE attempts (
	fax_id      TEXT NOT NULL,
	n           INTEGER NOT NULL,
	instance    TEXT NOT NULL,
	started     BIGINT NOT NULL,
	finished    BIGINT NOT NULL DEFAULT 0,
	result      TEXT NOT NULL DEFAULT '',
	code        INTEGER NOT NULL DEFAULT 0,
	pages       INTEGER NOT NULL DEFAULT 0,
	bit_rate    INTEGER NOT NULL DEFAULT 0,
	coding      TEXT NOT NULL DEFAULT '',
	ecm         INTEGER NOT NULL DEFAULT 0,
	duration_ms BIGINT NOT NULL DEFAULT 0,
	record_doc  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (fax_id, n)
);

CREATE TABLE events (
	id      TEXT PRIMARY KEY,
	fax_id  TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	type    TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE INDEX events_fax ON events(fax_id, seq);

CREATE TABLE idempotency (
	owner   TEXT NOT NULL,
	key     TEXT NOT NULL,
	fax_id  TEXT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (owner, key)
);
