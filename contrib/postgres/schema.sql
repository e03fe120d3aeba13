-- busyring usages in PostgreSQL (15 or later), loaded by contrib/postgres/load.sh.
--   psql -X -v ON_ERROR_STOP=1 -d DB -f contrib/postgres/schema.sql    (safe to run again)
-- The database must be UTF8 (CREATE DATABASE ... ENCODING 'UTF8'): bodies are UTF-8 JSON.
--
-- `id` is the primary key, so a record loaded twice (an export re-run after a crash, or a
-- checkpoint removed to start over) is kept once: load.sh inserts through a staging table with
-- ON CONFLICT (id) DO NOTHING, in one transaction with the COPY.
SET client_min_messages = warning;  -- no NOTICE for what already exists

CREATE TABLE IF NOT EXISTS usages (
  id          bigint PRIMARY KEY,
  shard       int    NOT NULL,
  arrival_ns  bigint NOT NULL,   -- nanoseconds since the epoch, as the server stamped it
  patient_id  text,              -- patientId (a string, or an integer in decimal)
  timestamp   text,
  medication  text,
  body        jsonb              -- the request body; NULL only for the rows below
);

-- A body is valid JSON (the server checked it) but jsonb can still refuse it: "\u0000" inside a
-- string has no jsonb form. Such a row keeps body NULL in usages and its exact text here, so
-- one record never blocks every later load.
CREATE TABLE IF NOT EXISTS usages_unloadable_body (
  id      bigint PRIMARY KEY REFERENCES usages (id),
  body    text NOT NULL,
  reason  text NOT NULL
);

-- Moves the session's usages_staging (created by load.sh: the columns of usages, body as
-- text) into usages; returns the rows added (records already there are skipped). One bulk
-- INSERT normally; when some body is refused by jsonb, row by row for this batch.
CREATE OR REPLACE FUNCTION busyring_merge_staging() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  added bigint := 0;
  one bigint;
  r record;
BEGIN
  BEGIN
    INSERT INTO usages (id, shard, arrival_ns, patient_id, timestamp, medication, body)
      SELECT s.id, s.shard, s.arrival_ns, s.patient_id, s.timestamp, s.medication, s.body::jsonb
      FROM usages_staging s
      ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
  EXCEPTION WHEN data_exception THEN
    NULL;  -- some body has no jsonb form: fall through to one row at a time
  END;
  FOR r IN SELECT * FROM usages_staging ORDER BY id LOOP
    BEGIN
      INSERT INTO usages (id, shard, arrival_ns, patient_id, timestamp, medication, body)
        VALUES (r.id, r.shard, r.arrival_ns, r.patient_id, r.timestamp, r.medication, r.body::jsonb)
        ON CONFLICT (id) DO NOTHING;
      GET DIAGNOSTICS one = ROW_COUNT;
    EXCEPTION WHEN data_exception THEN
      INSERT INTO usages (id, shard, arrival_ns, patient_id, timestamp, medication, body)
        VALUES (r.id, r.shard, r.arrival_ns, r.patient_id, r.timestamp, r.medication, NULL)
        ON CONFLICT (id) DO NOTHING;
      GET DIAGNOSTICS one = ROW_COUNT;
      IF one = 1 THEN
        INSERT INTO usages_unloadable_body (id, body, reason) VALUES (r.id, r.body, SQLERRM)
          ON CONFLICT (id) DO NOTHING;
      END IF;
    END;
    added := added + one;
  END LOOP;
  RETURN added;
END
$$;
