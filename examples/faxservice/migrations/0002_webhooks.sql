-- Version 2: webhook endpoints per account and their durable deliveries.
-- Event payloads are rebuilt from events (no PHI is stored here).

CREATE TABLE webhooks (
	id       TEXT PRIMARY KEY,
	owner    TEXT NOT NULL REFERENCES users(id),
	url      TEXT NOT NULL,
	secret   TEXT NOT NULL,
	events   TEXT NOT NULL,
	created  BIGINT NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_owner ON webhooks(owner);

CREATE TABLE deliveries (
	id          TEXT PRIMARY KEY,
	webhook_id  TEXT NOT NULL REFERENCES webhooks(id),
	event_id    TEXT NOT NULL REFERENCES events(id),
	fax_id      TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0,
	last_status INTEGER NOT NULL DEFAULT 0,
	created     BIGINT NOT NULL,
	delivered   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_due ON deliveries(state, next_at);
CREATE INDEX deliveries_order ON deliveries(webhook_id, fax_id, seq);
