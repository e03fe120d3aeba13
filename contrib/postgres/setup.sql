-- Makes a PostgreSQL (15 or later) ready for busyring's export, as a superuser, once per cluster
-- (running it again changes nothing):
--   sudo -u postgres psql -X -f /usr/local/share/busyring/postgres/setup.sql
--   ... -v role=NAME -v db=NAME  for other names than busyring / busyring
--
--   1. the login role `busyring`, nothing more (no superuser, createdb, createrole, password):
--      under systemd load.sh runs as the OS user busyring and reaches PostgreSQL over its unix
--      socket, where Debian's pg_hba.conf (`local all all peer`) lets the OS user in as the role
--      of the same name. A remote PGHOST needs a password: ALTER ROLE busyring PASSWORD '...',
--      and the password in a PGPASSFILE (see /etc/default/busyring-export).
--   2. the database `busyring`, UTF8 (bodies are UTF-8 JSON), owned by the superuser running this.
--   3. the schema (schema.sql, next to this file).
--   4. exactly what load.sh needs, nothing by default to anyone else:
--        CONNECT, TEMP on the database        (the session's staging table is a temp table)
--        USAGE on schema public                (to name the tables and the function)
--        INSERT on usages and usages_unloadable_body, SELECT on their id
--                                              (INSERT ... ON CONFLICT (id) reads the conflict column)
--        EXECUTE on busyring_merge_staging()   (it runs with the role's rights: SECURITY INVOKER)
--      No sequence: ids come from busyring. PUBLIC loses its default CONNECT and TEMP on this
--      database and EXECUTE on the function; readers get their own grants, e.g.
--        GRANT CONNECT ON DATABASE busyring TO analyst; GRANT SELECT ON usages TO analyst;
\set ON_ERROR_STOP on
\if :{?role}
\else
  \set role busyring
\endif
\if :{?db}
\else
  \set db busyring
\endif
SET client_min_messages = warning;

-- 1. The role: created if missing; one that exists keeps what it has, and may log in.
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN', :'role') \gexec

-- 2. The database. template0, so its encoding may differ from template1's.
SELECT format('CREATE DATABASE %I ENCODING %L TEMPLATE template0', :'db', 'UTF8')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'role') \gexec

\connect :"db"
SET client_min_messages = warning;
DO $$
BEGIN
  IF current_setting('server_encoding') <> 'UTF8' THEN
    RAISE EXCEPTION 'database % is %, not UTF8: drop it (or pick another with -v db=NAME) and run this again',
      current_database(), current_setting('server_encoding');
  END IF;
END
$$;

-- 3. The tables and the merge function.
\ir schema.sql

-- 4. The grants.
GRANT USAGE ON SCHEMA public TO :"role";
GRANT INSERT, SELECT (id) ON usages, usages_unloadable_body TO :"role";
REVOKE EXECUTE ON FUNCTION busyring_merge_staging() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION busyring_merge_staging() TO :"role";
