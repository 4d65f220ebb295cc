#!/usr/bin/env bash
# Entrypoint of the local labkit-postgres image (see README.md next to this file).
# A small re-implementation of what the official `postgres` image's
# docker-entrypoint.sh does, for what testcontainers' PostgresContainer needs:
#   POSTGRES_USER      superuser to create (default: postgres)
#   POSTGRES_PASSWORD  its password (required unless POSTGRES_HOST_AUTH_METHOD=trust);
#                      POSTGRES_PASSWORD_FILE / POSTGRES_USER_FILE / POSTGRES_DB_FILE work too
#   POSTGRES_DB        database to create (default: $POSTGRES_USER)
#   POSTGRES_HOST_AUTH_METHOD  auth for TCP connections (default: scram-sha-256)
#   POSTGRES_INITDB_ARGS       extra initdb arguments
#   PGDATA             data directory (default: /var/lib/postgresql/data)
# *.sql and *.sh files in /docker-entrypoint-initdb.d run once, after initdb.
# The first run initialises PGDATA; a restart of the same container just starts
# postgres again. postgres is exec'd as the `postgres` OS user and becomes PID 1.
set -Eeuo pipefail

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

# `docker run IMAGE -c key=value` means "postgres -c key=value".
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

# VAR_FILE support, as in the official image.
file_env() {
	local var="$1" def="${2:-}" fvar="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
		echo >&2 "error: both $var and $fvar are set (but are exclusive)"
		exit 1
	fi
	local val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!fvar:-}" ]; then
		val="$(<"${!fvar}")"
	fi
	export "$var"="$val"
	unset "$fvar"
}

if [ "$1" != 'postgres' ]; then
	exec "$@"
fi

if [ "$(id -u)" = '0' ]; then
	# As root: prepare directories, then re-run this script as the postgres user.
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres /var/run/postgresql
	chmod 3777 /var/run/postgresql
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		chown postgres:postgres "$PGDATA"
		chmod 700 "$PGDATA"
	fi
	export HOME=/var/lib/postgresql USER=postgres LOGNAME=postgres
	exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	file_env POSTGRES_USER postgres
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_DB "$POSTGRES_USER"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

	if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != 'trust' ]; then
		cat >&2 <<-'EOM'
		Error: Database is uninitialized and superuser password is not specified.
		       You must specify POSTGRES_PASSWORD to a non-empty value for the
		       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
		       (Or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections
		       without a password; not recommended.)
		EOM
		exit 1
	fi

	echo "entrypoint: initialising $PGDATA for user '$POSTGRES_USER', database '$POSTGRES_DB'"
	initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$auth" -D "$PGDATA")
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is split on purpose
	if [ -n "$POSTGRES_PASSWORD" ]; then
		initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRES_INITDB_ARGS:-}
	else
		initdb "${initdb_args[@]}" ${POSTGRES_INITDB_ARGS:-}
	fi

	# TCP from anywhere needs the password; the local socket is trusted.
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

	# Temporary server on the Unix socket only, so that nothing (e.g. a
	# readiness probe over TCP) can connect before the setup below is done.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start

	psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER")
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		"${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		# shellcheck disable=SC1090
		case "$f" in
		*.sh) echo "entrypoint: running $f"; . "$f" ;;
		*.sql) echo "entrypoint: running $f"; "${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
		*) echo "entrypoint: ignoring $f" ;;
		esac
	done
	shopt -u nullglob

	pg_ctl -D "$PGDATA" -m fast -w stop
	echo 'entrypoint: init done; starting postgres'
else
	echo "entrypoint: $PGDATA already initialised; starting postgres"
fi
# Do not hand the password down to the server's environment.
unset POSTGRES_PASSWORD POSTGRES_PASSWORD_FILE

exec "$@"
