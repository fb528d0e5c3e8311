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

# Hooks run before mariadb.service (appagent orders the application's units after the hooks),
# so they start a private server: no network, socket in /run, stopped before they exit.
db_start() {
	install -d -m 0755 -o mysql -g mysql /run/mysqld
	log "starting a temporary MariaDB server for the hook"
	/usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --skip-networking \
		--socket="$SOCKET" --pid-file=/run/mysqld/hook.pid --skip-log-bin >/run/mysqld/hook.log 2>&1 &
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
