-- payctl state backend, schema version 2: segmented snapshots.
--
-- A state's snapshot is stored as the files a local segmented state holds,
-- byte for byte: its root, one segment per batch, and its account index.
-- A command reads the root, the batches its manifests name and those with
-- open payouts; a checkpoint writes only the batches it changed. The
-- checkpoint record after the root's serial carries the root's digest, and
-- the root the digest of every segment and of the account index, so a row
-- edited in place does not load. States written before this version keep
-- their snapshot as rows of payctl_payouts and payctl_groups until
-- `payctl state migrate` converts them.

-- The root's bytes (NULL for a snapshot held as rows, snapshot_version 1).
ALTER TABLE payctl_states ADD COLUMN snapshot_root bytea;

-- One row per batch segment, keyed by its digest: a checkpoint writes the
-- new segments beside the ones the current root names, records its
-- checkpoint, then puts the new root in place and removes the segments no
-- root names any more.
CREATE TABLE payctl_segments (
    state   text COLLATE "C" NOT NULL REFERENCES payctl_states (name),
    batch   text COLLATE "C" NOT NULL,
    digest  text NOT NULL,
    payouts integer NOT NULL,
    segment bytea NOT NULL,
    PRIMARY KEY (state, batch, digest)
);

-- The account index (recipient and account pairs paid), likewise.
CREATE TABLE payctl_account_indexes (
    state   text COLLATE "C" NOT NULL REFERENCES payctl_states (name),
    digest  text NOT NULL,
    entries integer NOT NULL,
    accounts bytea NOT NULL,
    PRIMARY KEY (state, digest)
);
