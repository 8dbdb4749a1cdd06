-- Version 7: the bulk-read alert's sliding window kept in the database,
-- so that every instance on one database counts the same reads: which
-- fax each principal last read when, and when each principal was last
-- alerted of each kind (once per window). IDs and times only, no PHI.

CREATE TABLE read_log (
	principal TEXT NOT NULL,
	document  TEXT NOT NULL,
	last_read BIGINT NOT NULL,
	PRIMARY KEY (principal, document)
);
CREATE INDEX read_log_time ON read_log(last_read);

CREATE TABLE alert_state (
	principal TEXT NOT NULL,
	kind      TEXT NOT NULL,
	alerted   BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (principal, kind)
);
