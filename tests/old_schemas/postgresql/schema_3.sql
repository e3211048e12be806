-- Schema 3 as a new PostgreSQL store got it from scf-plugins f173d1e (its
-- metadata.create_all), frozen for tests/test_migrations.py; the store id is a fixed one.

CREATE TABLE scf_meta (
	key VARCHAR(64) NOT NULL,
	value VARCHAR(255) NOT NULL,
	PRIMARY KEY (key)
);

CREATE TABLE request_types (
	code VARCHAR(200) NOT NULL,
	integration VARCHAR(100) NOT NULL,
	name VARCHAR(500) NOT NULL,
	definition TEXT NOT NULL,
	fetched_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (code)
);

CREATE INDEX ix_request_types_integration ON request_types (integration);

CREATE TABLE issues (
	id SERIAL NOT NULL,
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
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	acknowledged_at TIMESTAMP WITHOUT TIME ZONE,
	closed_at TIMESTAMP WITHOUT TIME ZONE,
	archived_at TIMESTAMP WITHOUT TIME ZONE,
	attempts INTEGER NOT NULL,
	next_attempt_at TIMESTAMP WITHOUT TIME ZONE,
	last_error TEXT,
	last_error_kind VARCHAR(20),
	submit_attempted BOOLEAN NOT NULL,
	held BOOLEAN NOT NULL,
	address_check TEXT,
	lease_owner VARCHAR(100),
	lease_until TIMESTAMP WITHOUT TIME ZONE,
	marker VARCHAR(30),
	generation INTEGER DEFAULT '0' NOT NULL,
	link_environment VARCHAR(100),
	link_endpoint VARCHAR(500),
	attention TEXT,
	attention_kind VARCHAR(20),
	PRIMARY KEY (id)
);

CREATE INDEX ix_issues_remote_id ON issues (remote_id);

CREATE UNIQUE INDEX uq_issues_link ON issues (link_endpoint, remote_id);

CREATE INDEX ix_issues_status_integration ON issues (status, integration);

CREATE TABLE poll_rounds (
	integration VARCHAR(100) NOT NULL,
	round INTEGER NOT NULL,
	started_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (integration)
);

CREATE TABLE poll_batches (
	id SERIAL NOT NULL,
	integration VARCHAR(100) NOT NULL,
	round INTEGER NOT NULL,
	first_id INTEGER NOT NULL,
	last_id INTEGER,
	done BOOLEAN NOT NULL,
	lease_owner VARCHAR(100),
	lease_until TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (id)
);

CREATE INDEX ix_poll_batches_round ON poll_batches (integration, round, done);

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
	id SERIAL NOT NULL,
	issue_id INTEGER NOT NULL,
	author VARCHAR(200) NOT NULL,
	text TEXT NOT NULL,
	kind VARCHAR(20) NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	remote_id VARCHAR(200),
	remote_key VARCHAR(500),
	pushed_at TIMESTAMP WITHOUT TIME ZONE,
	push_attempted BOOLEAN NOT NULL,
	attempts INTEGER NOT NULL,
	next_attempt_at TIMESTAMP WITHOUT TIME ZONE,
	last_error TEXT,
	lease_owner VARCHAR(100),
	lease_until TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (id),
	CONSTRAINT uq_comments_remote_key UNIQUE (issue_id, remote_key),
	FOREIGN KEY(issue_id) REFERENCES issues (id) ON DELETE CASCADE
);

CREATE INDEX ix_comments_issue ON comments (issue_id, id);

CREATE TABLE announced (
	issue_id INTEGER NOT NULL,
	remote_id VARCHAR(200) NOT NULL,
	field VARCHAR(200) NOT NULL,
	value VARCHAR(1000) NOT NULL,
	PRIMARY KEY (issue_id, remote_id, field, value),
	FOREIGN KEY(issue_id) REFERENCES issues (id) ON DELETE CASCADE
);

INSERT INTO scf_meta (key, value) VALUES ('schema_version', '3');
INSERT INTO scf_meta (key, value) VALUES ('store_id', 'k3m9qz2a');
