-- The spans of each run's timeline, folded from its events as they are
-- stored (package timeline): the dashboard draws a run from these rows
-- rather than from its events, and the trends across runs read the
-- builds, deploys and status checks of many runs through the indexes
-- below. runs.timeline holds the fold between appends (its open spans);
-- NULL for a run stored before this migration, until it is folded from
-- its stored events.
ALTER TABLE runs ADD COLUMN timeline BLOB;

CREATE TABLE spans (
	run_id      TEXT NOT NULL,
	id          INTEGER NOT NULL,
	parent      INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	name        TEXT NOT NULL,
	detail      TEXT NOT NULL,
	start_us    INTEGER NOT NULL, -- microseconds since the epoch
	end_us      INTEGER NOT NULL, -- 0 while the span is open
	status      INTEGER NOT NULL,
	from_seq    INTEGER NOT NULL,
	to_seq      INTEGER NOT NULL,
	working_dir TEXT NOT NULL, -- the run's, for the trends' filters
	command     TEXT NOT NULL,
	PRIMARY KEY (run_id, id)
);
-- A series of the trends: one kind and name (the builds of an image),
-- newest first; and the same within one working directory.
CREATE INDEX spans_by_series ON spans (kind, name, start_us);
CREATE INDEX spans_by_dir ON spans (working_dir, kind, name, start_us);

-- The series of the trends: each kind and name of span that ended in runs
-- of a working directory and command, with when the latest started. The
-- dashboard lists series and working directories from these few rows
-- rather than from every span.
CREATE TABLE trend_series (
	kind          TEXT NOT NULL,
	name          TEXT NOT NULL,
	working_dir   TEXT NOT NULL,
	command       TEXT NOT NULL,
	last_start_us INTEGER NOT NULL,
	PRIMARY KEY (kind, name, working_dir, command)
);
