-- Version 3: security alerts (delivered as audit records and webhook
-- events), and user groups as inbound route targets. No PHI: IDs, kinds,
-- counts and fixed texts only.

CREATE TABLE alerts (
	id        TEXT PRIMARY KEY,
	kind      TEXT NOT NULL,
	principal TEXT NOT NULL,
	source    TEXT NOT NULL DEFAULT '',
	count     INTEGER NOT NULL DEFAULT 0,
	detail    TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL
);
CREATE INDEX alerts_created ON alerts(created, id);

CREATE TABLE groups (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	created BIGINT NOT NULL
);

CREATE TABLE group_members (
	group_id TEXT NOT NULL REFERENCES groups(id),
	user_id  TEXT NOT NULL REFERENCES users(id),
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);
