-- Version 5: the web console's shared state, so that any instance serves
-- any request (no sticky sessions). No PHI in any column: the trace is
-- the library's PHI-redacted debug trace, and a draft's pages and number
-- are sealed in the phi store (drafts.doc names the sealed document).

-- Per-user read state of faxes: a row means the user has read the fax.
CREATE TABLE fax_reads (
	fax_id  TEXT NOT NULL,
	user_id TEXT NOT NULL,
	read_at BIGINT NOT NULL,
	PRIMARY KEY (fax_id, user_id)
);
CREATE INDEX fax_reads_user ON fax_reads(user_id);

-- Per outbound attempt: the last records of the call's T.30/T.38 trace
-- (JSON array, bounded) and its media statistics (JSON object).
CREATE TABLE attempt_traces (
	fax_id  TEXT NOT NULL,
	n       INTEGER NOT NULL,
	trace   TEXT NOT NULL,
	stats   TEXT NOT NULL,
	dropped INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (fax_id, n)
);

-- Converted faxes awaiting the sender's confirmation.
CREATE TABLE drafts (
	id      TEXT PRIMARY KEY,
	owner   TEXT NOT NULL REFERENCES users(id),
	doc     TEXT NOT NULL,
	pages   INTEGER NOT NULL,
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL
);
CREATE INDEX drafts_owner ON drafts(owner, created);
CREATE INDEX drafts_expires ON drafts(expires);
