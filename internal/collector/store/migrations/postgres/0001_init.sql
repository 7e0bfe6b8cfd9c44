-- Runs, their images and their events. A run's summary and state are
-- protobuf (hoist.v1alpha2.Run and State); an event's body is its JSON
-- line, exactly as the run's event log file has it.
CREATE TABLE runs (
	id            TEXT PRIMARY KEY,
	command       TEXT NOT NULL,
	status        INTEGER NOT NULL,
	start_time    BIGINT NOT NULL, -- microseconds since the epoch
	updated_time  BIGINT NOT NULL,
	last_sequence BIGINT NOT NULL,
	summary       BYTEA NOT NULL,
	state         BYTEA NOT NULL
);
CREATE INDEX runs_by_start ON runs (start_time DESC, id DESC);
CREATE INDEX runs_by_update ON runs (updated_time);

CREATE TABLE run_images (
	run_id TEXT NOT NULL,
	image  TEXT NOT NULL,
	PRIMARY KEY (image, run_id)
);
CREATE INDEX run_images_by_run ON run_images (run_id);

-- pos is the collector's cursor: the order events were stored in. Ingest
-- transactions hold an advisory lock, so pos also follows commit order and
-- a reader after a cursor never misses a later commit of a smaller pos.
CREATE TABLE events (
	pos      BIGSERIAL PRIMARY KEY,
	run_id   TEXT NOT NULL,
	sequence BIGINT NOT NULL,
	body     BYTEA NOT NULL,
	UNIQUE (run_id, sequence)
);
