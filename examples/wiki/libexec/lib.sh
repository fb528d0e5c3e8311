# Shared by the wiki image's hooks and jobs. Sourced, not run.
#
# Where values come from (appagent's documented interface, docs/config.md):
#   - parameters: the environment of the unit (EnvironmentFile=/run/appagent/params.env);
#   - secrets: a file per secret in $CREDENTIALS_DIRECTORY (LoadCredential=), never the
#     environment. Run by hand (podman exec), secret() reads the agent's copy in
#     /run/appagent/credentials, then the environment.

# The variables below are used by the scripts that source this file.
# shellcheck disable=SC2034
set -eu
umask 022

MW=/usr/share/mediawiki
CONF=/etc/mediawiki
DB_NAME=wiki
DB_USER=wiki
BACKUP_DIR=/data/backup
SOCKET=/run/mysqld/mysqld.sock

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# secret_path NAME: the credential file of a secret, if there is one: the unit's own
# (LoadCredential=), else the agent's copy for root (a job run by hand with podman exec).
secret_path() {
	for f in "${CREDENTIALS_DIRECTORY:-/nonexistent}/$1" "/run/appagent/credentials/$1"; do
		if [ -r "$f" ]; then
			printf '%s' "$f"
			return 0
		fi
	done
	return 1
}

# secret NAME: print the secret's value (empty if unset).
secret() {
	if f=$(secret_path "$1"); then
		cat "$f"
	else
		eval "printf '%s' \"\${$1:-}\""
	fi
}

# secret_file NAME: print the path of a file holding the secret (for programs that read a
# file, so the value never appears on a command line).
secret_file() {
	if secret_path "$1"; then
		return
	fi
	f=$(mktemp)
	secret "$1" >"$f"
	printf '%s' "$f"
}

# is_true VALUE: true for the usual spellings of yes.
is_true() {
	case "$(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]')" in
	1 | true | yes | on | y | t) return 0 ;;
	*) return 1 ;;
	esac
}

# Replication (docs/replication.md): appagent tells the role in APPAGENT_ROLE (primary or
# replica) and the primary's address in APPAGENT_PRIMARY (role.env). MariaDB's side of it:
REPL_USER=repl
SETTINGS_DB=wiki_image # root-only: the primary's LocalSettings.php, which a replica's join reads

# Run by hand (podman exec), a script has no unit environment: read appagent's file.
if [ -z "${APPAGENT_ROLE:-}" ] && [ -r /run/appagent/role.env ]; then
	set -a
	. /run/appagent/role.env
	set +a
fi
role() { printf '%s' "${APPAGENT_ROLE:-primary}"; }

# db_role_opts: mariadbd options for this instance's role, the same for the hooks' temporary
# server and mariadb.service (units/mariadb-role.conf), so both write one binary log.
db_role_opts() {
	if [ "$(role)" = replica ]; then
		# A server id of its own: the ordinal's in a StatefulSet, else one from the hostname.
		if [ -n "${APPAGENT_ORDINAL:-}" ]; then
			id=$((APPAGENT_ORDINAL + 1))
		else
			id=$(($(hostname | cksum | cut -d' ' -f1) % 1000000 + 100))
		fi
		printf '%s' "--server-id=$id --log-bin=mysql-bin --binlog-format=ROW --relay-log=relay-bin --read-only=1"
	else
		printf '%s' "--server-id=1 --log-bin=mysql-bin --binlog-format=ROW --expire-logs-days=7"
		# Replicas reach the primary over the network only when they can log in.
		if [ -n "$(secret REPLICATION_PASSWORD)" ]; then
			printf '%s' " --bind-address=0.0.0.0"
		fi
	fi
}

# Hooks run before mariadb.service (appagent orders the application's units after the hooks),
# so they start a private server: no network, socket in /run, no replication threads, stopped
# before they exit.
db_start() {
	install -d -m 0755 -o mysql -g mysql /run/mysqld
	log "starting a temporary MariaDB server for the hook"
	# shellcheck disable=SC2046 # the options are words
	/usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --skip-networking \
		--socket="$SOCKET" --pid-file=/run/mysqld/hook.pid $(db_role_opts) --bind-address=127.0.0.1 \
		--skip-slave-start >/run/mysqld/hook.log 2>&1 &
	DB_PID=$!
	trap db_stop EXIT
	i=0
	until mariadb-admin --socket="$SOCKET" ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 120 ] || ! kill -0 "$DB_PID" 2>/dev/null; then
			cat /run/mysqld/hook.log >&2 || true
			die "the temporary MariaDB server did not start (its log is above)"
		fi
		sleep 0.5
	done
}

db_stop() {
	if [ -n "${DB_PID:-}" ]; then
		log "stopping the temporary MariaDB server"
		mariadb-admin --socket="$SOCKET" shutdown 2>/dev/null || kill "$DB_PID" 2>/dev/null || true
		wait "$DB_PID" 2>/dev/null || true
		DB_PID=
		rm -f /run/mysqld/hook.log
	fi
}

# write_settings: the parts of MediaWiki's settings that follow parameters. LocalSettings.php
# (the installer's file) includes this one, so the reconfigure hook only rewrites it.
write_settings() {
	tmp=$(mktemp "$CONF/.params.XXXXXX")
	php -r '
		$server = getenv("WIKI_SERVER_URL");
		$email = getenv("WIKI_ADMIN_EMAIL");
		echo "<?php\n// Written by /usr/libexec/wiki/configure and reconfigure from the container parameters.\n";
		echo "// Do not edit: the next reconfigure overwrites it. Edit LocalSettings.php instead.\n";
		echo "\$wgServer = " . var_export($server, true) . ";\n";
		echo "\$wgEmergencyContact = " . var_export($email, true) . ";\n";
		echo "\$wgPasswordSender = " . var_export($email, true) . ";\n";
		if (getenv("APPAGENT_ROLE") === "replica") {
			// A replica serves the primary'"'"'s pages; edits go to the primary.
			echo "\$wgReadOnly = " . var_export("This wiki is a read-only replica of " . getenv("APPAGENT_PRIMARY") . ".", true) . ";\n";
		}
	' >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$CONF/LocalSettings.params.php"
}

# write_msmtprc: the mail relay for msmtp (cron, MediaWiki's mails and the failure mails).
# Group www-data may read it because PHP sends MediaWiki's mails as www-data.
write_msmtprc() {
	host=${SMTP_HOST:-}
	pass=$(secret SMTP_PASSWORD)
	# /etc/msmtprc is a symlink to the volume (the root may be read-only): write beside its target.
	target=$(readlink -f /etc/msmtprc)
	tmp=$(mktemp "${target%/*}/.msmtprc.XXXXXX")
	{
		echo "# Written by the wiki image's configure/reconfigure hooks from the SMTP_* parameters."
		echo "defaults"
		echo "syslog LOG_MAIL"
		case "${SMTP_TLS:-off}" in
		tls) printf 'tls on\ntls_starttls off\n' ;;
		starttls) printf 'tls on\ntls_starttls on\n' ;;
		*) echo "tls off" ;;
		esac
		echo "tls_trust_file /etc/ssl/certs/ca-certificates.crt"
		echo "account default"
		if [ -n "$host" ]; then
			echo "host $host"
			echo "port ${SMTP_PORT:-25}"
		else
			echo "# no SMTP_HOST: mail cannot be sent"
		fi
		echo "from ${WIKI_ADMIN_EMAIL}"
		if [ -n "${SMTP_USER:-}" ]; then
			echo "auth on"
			echo "user ${SMTP_USER}"
			echo "password ${pass}"
		else
			echo "auth off"
		fi
	} >"$tmp"
	chown root:www-data "$tmp"
	chmod 0640 "$tmp"
	mv -f "$tmp" "$target"
}

# write_ssh: root's authorized_keys from SSH_AUTHORIZED_KEYS (';' or newline separated) and
# host keys made here, on the volume, never baked into the image.
write_ssh() {
	ssh-keygen -A >/dev/null
	install -d -m 0700 /root/.ssh
	keys=$(printf '%s' "${SSH_AUTHORIZED_KEYS:-}" | tr ';' '\n' | sed 's/^ *//; /^$/d')
	tmp=$(mktemp /root/.ssh/.authorized_keys.XXXXXX)
	printf '%s\n' "$keys" | sed '/^$/d' >"$tmp"
	chmod 0600 "$tmp"
	mv -f "$tmp" /root/.ssh/authorized_keys
}

# sql: run SQL as root over the socket (the hooks' server or mariadb.service).
sql() { mariadb --socket="$SOCKET" -N -B -e "$1"; }

# sql_quote VALUE: VALUE as a MariaDB string literal.
sql_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")"; }

# primary_setup: on the primary, the replication user (when REPLICATION_PASSWORD is set) and
# the copy of LocalSettings.php that a replica's join takes. Not in the binary log: users and
# settings are each instance's own; the replicas clone the wiki's database and follow it.
primary_setup() {
	[ "$(role)" = primary ] || return 0
	[ -s "$CONF/LocalSettings.php" ] || return 0
	pass=$(secret REPLICATION_PASSWORD)
	{
		echo "SET sql_log_bin=0;"
		echo "CREATE DATABASE IF NOT EXISTS \`$SETTINGS_DB\`;"
		echo "CREATE TABLE IF NOT EXISTS \`$SETTINGS_DB\`.settings (name VARCHAR(64) PRIMARY KEY, value LONGBLOB NOT NULL);"
		echo "REPLACE INTO \`$SETTINGS_DB\`.settings VALUES ('LocalSettings.php', FROM_BASE64('$(base64 -w0 "$CONF/LocalSettings.php")'));"
		if [ -n "$pass" ]; then
			echo "CREATE USER IF NOT EXISTS '$REPL_USER'@'%' IDENTIFIED BY $(sql_quote "$pass");"
			echo "ALTER USER '$REPL_USER'@'%' IDENTIFIED BY $(sql_quote "$pass");"
			# What a replica needs to clone (a consistent dump with its GTID position) and follow.
			echo "GRANT REPLICATION SLAVE, BINLOG MONITOR, RELOAD ON *.* TO '$REPL_USER'@'%';"
			echo "GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON \`$DB_NAME\`.* TO '$REPL_USER'@'%';"
			echo "GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON \`$SETTINGS_DB\`.* TO '$REPL_USER'@'%';"
		else
			echo "DROP USER IF EXISTS '$REPL_USER'@'%';"
		fi
	} | mariadb --socket="$SOCKET"
}

# replica_follow: point this replica's MariaDB at the primary (address and password from the
# parameters; the position is the GTID the join's dump recorded, or where it got to).
replica_follow() {
	[ "$(role)" = replica ] || return 0
	pass=$(secret REPLICATION_PASSWORD)
	sql "STOP SLAVE; CHANGE MASTER TO MASTER_HOST=$(sql_quote "$APPAGENT_PRIMARY"), MASTER_PORT=3306, MASTER_USER='$REPL_USER', MASTER_PASSWORD=$(sql_quote "$pass"), MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5"
}
