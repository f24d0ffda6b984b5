# The database servers the ODBC tests use (sourced by scripts/test.sh, not run): a
# PostgreSQL and a MariaDB of Debian's packages, each started on 127.0.0.1 with a data
# folder of its own under the build folder, reached through unixODBC with Debian's
# "PostgreSQL Unicode" and "MariaDB Unicode" drivers, and stopped by db_servers_stop.
#
#   db_servers_start    exports ANAF_TEST_ODBC_POSTGRES (and _DML, _NOCREATE), ANAF_TEST_ODBC_MARIADB
#                       and ANAF_TEST_RELAY_POSTGRES (the same server as a URL, for anaf-relay)
#   db_servers_stop
#
# The user `anaf` may create databases (each test that needs a clean server makes its own,
# anaf_t_*; they go with the data folders). A server that cannot start leaves its variable unset and says so; the tests that need
# it then fail under CI=true (they skip loudly elsewhere).
DB_DIR="${TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}}/dbservers"
DB_PG_PORT="${ANAF_TEST_PG_PORT:-55432}"
DB_MY_PORT="${ANAF_TEST_MY_PORT:-53306}"

db_free_port() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

db_pg_start() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || { echo "!!! PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  db_free_port "$DB_PG_PORT" || { echo "!!! port $DB_PG_PORT is taken: set ANAF_TEST_PG_PORT"; return 1; }
  local data run=()
  # initdb and the server refuse to run as root: then they run as the postgres user, in a
  # folder of /tmp (the checkout's folders may be closed to other users).
  if [ "$(id -u)" -eq 0 ]; then
    data=$(mktemp -d /tmp/anaf-test-pg.XXXXXX); chown postgres: "$data"; run=(runuser -u postgres --)
  else
    data=$DB_DIR/pg; rm -rf "$data"; mkdir -p "$data"
  fi
  echo "$data" >"$DB_DIR/pg.dir"
  "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DB_DIR/pg-init.log" 2>&1 ||
    { echo "!!! initdb failed:"; tail -5 "$DB_DIR/pg-init.log"; return 1; }
  "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $DB_PG_PORT -k $data -c fsync=on -c max_connections=200" start >/dev/null ||
    { echo "!!! PostgreSQL did not start:"; tail -5 "$data/server.log"; return 1; }
  "${run[@]}" "$bin/psql" -h "$data" -p "$DB_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE USER anaf PASSWORD 'anaf-test' CREATEDB" -c "CREATE DATABASE anaf OWNER anaf" >/dev/null ||
    { echo "!!! creating the PostgreSQL user failed"; return 1; }
  # The DBA's way: the tables made from docs/sql/postgresql.sql, and a user who may only
  # read and write them (no CREATE); and a database where that user can create nothing.
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  "${run[@]}" "$bin/psql" -h "$data" -p "$DB_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE USER anaf_dml PASSWORD 'anaf-test'" -c "CREATE DATABASE anaf_dba" -c "CREATE DATABASE anaf_empty" >/dev/null &&
  "${run[@]}" "$bin/psql" -h "$data" -p "$DB_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 -d anaf_dba \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" >/dev/null &&
  "${run[@]}" "$bin/psql" -h "$data" -p "$DB_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 -d anaf_dba \
    <"$root/docs/sql/postgresql.sql" >/dev/null &&
  "${run[@]}" "$bin/psql" -h "$data" -p "$DB_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 -d anaf_dba \
    -c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO anaf_dml" >/dev/null &&
  "${run[@]}" "$bin/psql" -h "$data" -p "$DB_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 -d anaf_empty \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" >/dev/null ||
    { echo "!!! preparing the DBA databases failed"; return 1; }
  export ANAF_TEST_ODBC_POSTGRES_DML="Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=$DB_PG_PORT;Database=anaf_dba;UID=anaf_dml;PWD=anaf-test;"
  export ANAF_TEST_ODBC_POSTGRES_NOCREATE="Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=$DB_PG_PORT;Database=anaf_empty;UID=anaf_dml;PWD=anaf-test;"
  export ANAF_TEST_ODBC_POSTGRES="Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=$DB_PG_PORT;Database=anaf;UID=anaf;PWD=anaf-test;"
  export ANAF_TEST_RELAY_POSTGRES="postgres://anaf:anaf-test@127.0.0.1:$DB_PG_PORT/anaf"
  echo "PostgreSQL on 127.0.0.1:$DB_PG_PORT ($data)"
}

db_my_start() {
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || { echo "!!! MariaDB is not installed (apt-get install mariadb-server)"; return 1; }
  db_free_port "$DB_MY_PORT" || { echo "!!! port $DB_MY_PORT is taken: set ANAF_TEST_MY_PORT"; return 1; }
  local data=$DB_DIR/mariadb; rm -rf "$data"; mkdir -p "$data"
  mariadb-install-db --no-defaults --datadir="$data" --user="$(id -un)" --auth-root-authentication-method=normal \
    --skip-test-db >"$DB_DIR/my-init.log" 2>&1 || { echo "!!! mariadb-install-db failed:"; tail -5 "$DB_DIR/my-init.log"; return 1; }
  /usr/sbin/mariadbd --no-defaults --datadir="$data" --socket="$data/mysql.sock" --pid-file="$data/mysqld.pid" \
    --port="$DB_MY_PORT" --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=1 --max-connections=300 --log-error="$data/error.log" &
  local i
  for i in $(seq 120); do
    mariadb --no-defaults -S "$data/mysql.sock" -u root -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --no-defaults -S "$data/mysql.sock" -u root -e "
    CREATE DATABASE anaf CHARACTER SET utf8mb4;
    CREATE USER 'anaf'@'127.0.0.1' IDENTIFIED BY 'anaf-test';
    GRANT ALL ON \`anaf%\`.* TO 'anaf'@'127.0.0.1';" ||
    { echo "!!! MariaDB did not start:"; tail -5 "$data/error.log"; return 1; }
  export ANAF_TEST_ODBC_MARIADB="Driver={MariaDB Unicode};Server=127.0.0.1;Port=$DB_MY_PORT;Database=anaf;UID=anaf;PWD=anaf-test;"
  echo "MariaDB on 127.0.0.1:$DB_MY_PORT ($data)"
}

db_servers_start() {
  mkdir -p "$DB_DIR"
  db_pg_start || echo "!!! the PostgreSQL tests will not run"
  db_my_start || echo "!!! the MariaDB tests will not run"
}

db_servers_stop() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  local pg; pg=$(cat "$DB_DIR/pg.dir" 2>/dev/null)
  if [ -n "$pg" ] && [ -f "$pg/postmaster.pid" ]; then
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$pg" -m fast -w stop >/dev/null
    else "$bin/pg_ctl" -D "$pg" -m fast -w stop >/dev/null; fi
  fi
  case "$pg" in /tmp/anaf-test-pg.*) rm -rf "$pg" ;; esac
  rm -f "$DB_DIR/pg.dir"
  if [ -f "$DB_DIR/mariadb/mysqld.pid" ]; then
    local pid; pid=$(cat "$DB_DIR/mariadb/mysqld.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  unset ANAF_TEST_ODBC_POSTGRES ANAF_TEST_ODBC_POSTGRES_DML ANAF_TEST_ODBC_POSTGRES_NOCREATE ANAF_TEST_ODBC_MARIADB ANAF_TEST_RELAY_POSTGRES
}
