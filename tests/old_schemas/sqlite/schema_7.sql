-- Schema 7 as a new SQLite store got it from scf-plugins a4b7e99 (its sqlite_master),
-- frozen for tests/test_migrations.py; the store id is a fixed one.

CREATE TABLE scf_meta (
	"key" VARCHAR(64) NOT NULL,
	value VARCHAR(255) NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE request_types (
	code VARCHAR(200) NOT NULL,
	integration VARCHAR(100) NOT NULL,
	name VARCHAR(500) NOT NULL,
	definition TEXT NOT NULL,
	fetched_at DATETIME NOT NULL,
	PRIMARY KEY (code)
);

CREATE INDEX ix_request_types_integration ON request_types (integration);

CREATE TABLE issues (
	id INTEGER NOT NULL,
	request_type VARCHAR(200) NOT NULL,
	integration VARCHAR(100),
	status VARCHAR(20) NOT NULL,
	summary VARCHAR(200) NOT NULL,
	description TEXT NOT NULL,
	lat FLOAT NOT NULL,
	lng FLOAT NOT NULL,
	address VARCHAR(300),
	reporter_name VARCHAR(200),
	reporter_email VARCHAR(254),
	image_url VARCHAR(2000),
	type_ref VARCHAR(200) NOT NULL,
	remote_id VARCHAR(200),
	remote_status VARCHAR(200),
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	acknowledged_at DATETIME,
	closed_at DATETIME,
	archived_at DATETIME,
	attempts INTEGER NOT NULL,
	next_attempt_at DATETIME,
	last_error TEXT,
	last_error_kind VARCHAR(20),
	submit_attempted BOOLEAN NOT NULL,
	held BOOLEAN NOT NULL,
	address_check TEXT,
	lease_owner VARCHAR(100),
	lease_until DATETIME,
	marker VARCHAR(30),
	generation INTEGER DEFAULT '0' NOT NULL,
	link_environment VARCHAR(100),
	link_endpoint VARCHAR(500),
	attention TEXT,
	attention_kind VARCHAR(20),
	reporter_phone VARCHAR(50),
	reported_via VARCHAR(100),
	submit_attempted_at DATETIME,
	pending_token VARCHAR(200),
	pending_since DATETIME,
	plugin_state TEXT,
	PRIMARY KEY (id)
);

CREATE INDEX ix_issues_remote_id ON issues (remote_id);

CREATE INDEX ix_issues_created_at ON issues (created_at);

CREATE INDEX ix_issues_status_integration ON issues (status, integration);

CREATE INDEX ix_issues_reported_via ON issues (reported_via, created_at);

CREATE UNIQUE INDEX uq_issues_link ON issues (link_endpoint, remote_id);

CREATE TABLE poll_rounds (
	integration VARCHAR(100) NOT NULL,
	round INTEGER NOT NULL,
	started_at DATETIME NOT NULL,
	finished_at DATETIME,
	PRIMARY KEY (integration)
);

CREATE TABLE poll_batches (
	id INTEGER NOT NULL,
	integration VARCHAR(100) NOT NULL,
	round INTEGER NOT NULL,
	first_id INTEGER NOT NULL,
	last_id INTEGER,
	done BOOLEAN NOT NULL,
	lease_owner VARCHAR(100),
	lease_until DATETIME,
	PRIMARY KEY (id)
);

CREATE INDEX ix_poll_batches_round ON poll_batches (integration, round, done);

CREATE TABLE api_keys (
	name VARCHAR(100) NOT NULL,
	key_hash VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	revoked_at DATETIME,
	PRIMARY KEY (name),
	UNIQUE (key_hash)
);

CREATE TABLE circuits (
	integration VARCHAR(100) NOT NULL,
	opened_at DATETIME NOT NULL,
	reason TEXT NOT NULL,
	probe_at DATETIME NOT NULL,
	probes INTEGER NOT NULL,
	PRIMARY KEY (integration)
);

CREATE TABLE health (
	name VARCHAR(100) NOT NULL,
	kind VARCHAR(20) NOT NULL,
	last_pass_at DATETIME,
	last_pass_seconds FLOAT,
	last_pass_errors INTEGER,
	last_error TEXT,
	last_error_at DATETIME,
	last_success_at DATETIME,
	latency_p50_ms FLOAT,
	latency_p95_ms FLOAT,
	PRIMARY KEY (name)
);

CREATE TABLE answers (
	issue_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	question_id VARCHAR(200) NOT NULL,
	question TEXT NOT NULL,
	answer TEXT NOT NULL,
	private BOOLEAN NOT NULL,
	ref VARCHAR(200),
	PRIMARY KEY (issue_id, position),
	FOREIGN KEY(issue_id) REFERENCES issues (id) ON DELETE CASCADE
);

CREATE TABLE comments (
	id INTEGER NOT NULL,
	issue_id INTEGER NOT NULL,
	author VARCHAR(200) NOT NULL,
	text TEXT NOT NULL,
	kind VARCHAR(20) NOT NULL,
	created_at DATETIME NOT NULL,
	remote_id VARCHAR(200),
	remote_key VARCHAR(500),
	pushed_at DATETIME,
	push_attempted BOOLEAN NOT NULL,
	push_attempted_at DATETIME,
	kept_here VARCHAR(300),
	client_ref VARCHAR(300),
	attempts INTEGER NOT NULL,
	next_attempt_at DATETIME,
	last_error TEXT,
	lease_owner VARCHAR(100),
	lease_until DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_comments_remote_key UNIQUE (issue_id, remote_key),
	FOREIGN KEY(issue_id) REFERENCES issues (id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX uq_comments_client_ref ON comments (issue_id, client_ref);

CREATE INDEX ix_comments_issue ON comments (issue_id, id);

CREATE TABLE announced (
	issue_id INTEGER NOT NULL,
	remote_id VARCHAR(200) NOT NULL,
	field VARCHAR(200) NOT NULL,
	value VARCHAR(1000) NOT NULL,
	PRIMARY KEY (issue_id, remote_id, field, value),
	FOREIGN KEY(issue_id) REFERENCES issues (id) ON DELETE CASCADE
);

CREATE TABLE attachments (
	id INTEGER NOT NULL,
	issue_id INTEGER NOT NULL,
	filename VARCHAR(100) NOT NULL,
	content_type VARCHAR(50) NOT NULL,
	size INTEGER NOT NULL,
	width INTEGER NOT NULL,
	height INTEGER NOT NULL,
	path_token VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	remote_id VARCHAR(200),
	pushed_at DATETIME,
	push_attempted BOOLEAN NOT NULL,
	push_attempted_at DATETIME,
	kept_here VARCHAR(300),
	attempts INTEGER NOT NULL,
	next_attempt_at DATETIME,
	last_error TEXT,
	lease_owner VARCHAR(100),
	lease_until DATETIME,
	purged_at DATETIME,
	PRIMARY KEY (id),
	FOREIGN KEY(issue_id) REFERENCES issues (id) ON DELETE CASCADE,
	UNIQUE (path_token)
);

CREATE INDEX ix_attachments_issue ON attachments (issue_id, id);

CREATE TABLE attachment_contents (
	attachment_id INTEGER NOT NULL,
	content BLOB NOT NULL,
	PRIMARY KEY (attachment_id),
	FOREIGN KEY(attachment_id) REFERENCES attachments (id) ON DELETE CASCADE
);

INSERT INTO scf_meta (key, value) VALUES ('schema_version', '7');
INSERT INTO scf_meta (key, value) VALUES ('store_id', 'k3m9qz2a');
