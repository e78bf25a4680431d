-- payctl state backend, schema version 1.
--
-- One row per named state in payctl_states; its journal, snapshot rows and
-- lock info hang off it by name. Text keys use the "C" collation so that
-- ORDER BY gives the byte order payctl sorts by (Go's sort.Strings), whatever
-- the database's default collation.

CREATE TABLE payctl_states (
    name             text COLLATE "C" PRIMARY KEY,
    -- The lineage UUID, from the journal's create record ('' before it).
    lineage          text NOT NULL DEFAULT '',
    -- The journal's head: its last record, and the byte length the journal
    -- would have as a local file (the sum of its lines).
    journal_seq      bigint NOT NULL DEFAULT 0,
    journal_bytes    bigint NOT NULL DEFAULT 0,
    journal_hash     text NOT NULL DEFAULT '',
    -- The snapshot's header (NULL version: no snapshot written yet). serial,
    -- offset and hash are how far the journal is folded into the snapshot
    -- rows in payctl_payouts and payctl_groups.
    snapshot_version integer,
    snapshot_serial  bigint NOT NULL DEFAULT 0,
    snapshot_offset  bigint NOT NULL DEFAULT 0,
    snapshot_hash    text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The journal: the write-ahead log and audit trail, append-only. line holds
-- the record's exact bytes as the local journal file would (JSON, hash
-- suffix, newline), so its hash chain survives any move between backends.
CREATE TABLE payctl_journal (
    state      text COLLATE "C" NOT NULL REFERENCES payctl_states (name),
    seq        bigint NOT NULL CHECK (seq > 0),
    kind       text NOT NULL,
    hash       text NOT NULL,
    -- Byte offset just past this record in the journal as a file.
    end_offset bigint NOT NULL,
    line       bytea NOT NULL,
    PRIMARY KEY (state, seq)
);

-- The snapshot, one row per payout address: payout is the address's line
-- of the canonical snapshot file, byte for byte.
CREATE TABLE payctl_payouts (
    state   text COLLATE "C" NOT NULL REFERENCES payctl_states (name),
    address text COLLATE "C" NOT NULL,
    status  text NOT NULL,
    payout  text NOT NULL,
    PRIMARY KEY (state, address)
);

-- Provider payouts of batch providers, one row per group id, likewise.
CREATE TABLE payctl_groups (
    state       text COLLATE "C" NOT NULL REFERENCES payctl_states (name),
    id          text COLLATE "C" NOT NULL,
    status      text NOT NULL,
    payout_group text NOT NULL,
    PRIMARY KEY (state, id)
);

-- Who holds a state's writer lock. The lock itself is a session advisory
-- lock; this row names its holder for the writers it keeps out, and
-- backend_pid ties the row to the session so a row left by a dead session
-- is recognised as stale.
CREATE TABLE payctl_locks (
    state       text COLLATE "C" PRIMARY KEY REFERENCES payctl_states (name),
    id          text NOT NULL,
    who         text NOT NULL,
    host        text NOT NULL,
    pid         integer NOT NULL,
    operation   text NOT NULL,
    since       timestamptz NOT NULL,
    backend_pid integer NOT NULL
);

-- Journal records are never changed or removed. The hash chain detects any
-- edit; this trigger stops accidental ones. Only `payctl state push -force`,
-- replacing a whole journal, sets payctl.rewrite_journal for its transaction.
CREATE FUNCTION payctl_journal_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('payctl.rewrite_journal', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'payctl_journal is append-only: journal records are never changed or removed'
            USING HINT = 'payctl state push -force replaces a whole state';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER payctl_journal_append_only
    BEFORE UPDATE OR DELETE ON payctl_journal
    FOR EACH ROW EXECUTE FUNCTION payctl_journal_append_only();

CREATE TRIGGER payctl_journal_no_truncate
    BEFORE TRUNCATE ON payctl_journal
    FOR EACH STATEMENT EXECUTE FUNCTION payctl_journal_append_only();
