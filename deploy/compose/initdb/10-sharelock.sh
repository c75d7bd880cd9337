#!/bin/sh
# Run once by the postgres image when its data volume is new: the role Sharelock connects as owns its
# database and is not a superuser (docs/deploy.md, "PostgreSQL"). Its password is the db_password secret.
set -eu
password=$(cat /run/secrets/db_password)
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres -v password="$password" <<'SQL'
CREATE ROLE sharelock LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE sharelock OWNER sharelock;
REVOKE ALL ON DATABASE sharelock FROM PUBLIC;
SQL
