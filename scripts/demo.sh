#!/usr/bin/env bash
# make demo: build the example wiki image (examples/wiki) and run it with demo parameters on a
# named volume, wait until it is ready and say how to use it. Run as root on Debian 12.
#
#   scripts/demo.sh [run]   build and (re)start the demo (the volume, and so the wiki, is kept)
#   scripts/demo.sh stop    stop the demo container
#   scripts/demo.sh clean   remove the container, the volume (the wiki!) and the image
#
# Environment: BASE=<image> uses that Debian 12 image instead of building a local base
# (for example docker.io/library/debian:12 where a registry is reachable); PORT (8080).
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=appagent-wiki
VOLUME=appagent-wiki-data
IMAGE=localhost/appagent-wiki:latest
LOCAL_BASE=localhost/debian-systemd:12
PORT=${PORT:-8080}
CACHE=/var/cache/appagent-demo
WIKI_NAME="Demo Wiki"
ADMIN_USER=Admin
ADMIN_EMAIL=admin@example.org

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (podman and debootstrap need it): sudo make demo"

# This machine's podman may need runc (crun refuses hybrid cgroups), cgroupfs (no host
# systemd) and rlimits it is allowed to keep (docs/testing.md). On a machine without a
# containers.conf, write the same block as .ci/run so that plain `podman` commands work
# afterwards; otherwise leave the admin's file alone and pass the flags.
setup_podman() {
	local missing=()
	for p in podman runc debootstrap; do
		command -v "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap
	fi
	PODMAN=(podman)
	RUNFLAGS=()
	if ! grep -qs appagent-ci /etc/containers/containers.conf; then
		if [ ! -s /etc/containers/containers.conf ]; then
			mkdir -p /etc/containers
			cat >>/etc/containers/containers.conf <<'CONF'
# appagent-ci: settings this machine's podman needs (written by appagent's scripts/demo.sh,
# the same as .ci/run writes)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
		else
			PODMAN=(podman --runtime runc --cgroup-manager cgroupfs --events-backend file)
			RUNFLAGS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
		fi
	fi
}

pm() { "${PODMAN[@]}" "$@"; }

# The base image: BASE if given, else a local Debian 12 with systemd made by debootstrap and
# imported once (there is no registry here); the wiki's Containerfile installs the rest.
base_image() {
	if [ -n "${BASE:-}" ]; then
		echo "$BASE"
		return
	fi
	if pm image exists "$LOCAL_BASE"; then
		echo "$LOCAL_BASE"
		return
	fi
	local root=$CACHE/debian-systemd-12
	if [ ! -e "$root/.complete" ]; then
		say "building a Debian 12 base with systemd by debootstrap (once, about a minute)" >&2
		rm -rf "$root.tmp"
		mkdir -p "$CACHE"
		debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$root.tmp" \
			http://deb.debian.org/debian >&2
		# An image carries no machine id: systemd makes one per container at boot.
		: >"$root.tmp/etc/machine-id"
		rm -rf "$root.tmp/var/cache/apt/archives/"*.deb "$root.tmp/var/lib/apt/lists/"*_Packages
		touch "$root.tmp/.complete"
		rm -rf "$root"
		mv "$root.tmp" "$root"
	fi
	say "importing $root as $LOCAL_BASE" >&2
	tar --numeric-owner --exclude=./.complete -C "$root" -c . | pm import - "$LOCAL_BASE" >/dev/null
	echo "$LOCAL_BASE"
}

admin_password() {
	local f=$CACHE/admin-password
	if [ ! -s "$f" ]; then
		mkdir -p "$CACHE"
		(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f")
	fi
	cat "$f"
}

wait_ready() {
	say "waiting until the wiki is ready (first boot sets up the database and MediaWiki)"
	if ! pm exec "$NAME" appagent status --wait=5m; then
		pm logs --tail 40 "$NAME" >&2 || true
		die "the wiki did not become ready (appagent status above, the container's last log lines before it)"
	fi
}

run() {
	setup_podman
	[ -x bin/appagent ] ||
		die "bin/appagent is missing: make demo builds it (Go 1.26 from https://go.dev/dl/ in /usr/local/go)"
	local base
	base=$(base_image)
	say "building $IMAGE from $base"
	cp bin/appagent examples/wiki/appagent
	pm build --isolation chroot "${RUNFLAGS[@]}" --build-arg BASE="$base" -t "$IMAGE" examples/wiki

	if pm container exists "$NAME"; then
		say "replacing the old $NAME container (the volume $VOLUME and so the wiki stay)"
		pm rm -f -t 15 "$NAME" >/dev/null
	fi
	local pass
	pass=$(admin_password)
	# The password is a podman secret: it reaches the container as /run/secrets/WIKI_ADMIN_PASSWORD
	# (appagent reads it there), not as an environment variable `podman inspect` would show.
	pm secret rm appagent-wiki-admin-password >/dev/null 2>&1 || true
	printf '%s' "$pass" | pm secret create appagent-wiki-admin-password - >/dev/null
	say "starting $NAME on volume $VOLUME"
	pm run -d --name "$NAME" --systemd=always "${RUNFLAGS[@]}" \
		-v "$VOLUME:/data" -p "127.0.0.1:$PORT:80" \
		--secret appagent-wiki-admin-password,target=WIKI_ADMIN_PASSWORD \
		-e WIKI_NAME="$WIKI_NAME" -e WIKI_ADMIN_USER="$ADMIN_USER" -e WIKI_ADMIN_EMAIL="$ADMIN_EMAIL" \
		-e WIKI_SERVER_URL="http://localhost:$PORT" -e BACKUP_KEEP=7 \
		"$IMAGE" >/dev/null
	wait_ready
	local p="${PODMAN[*]}"
	cat <<TXT

The demo wiki is running.

  URL:           http://localhost:$PORT/mediawiki/
  Admin login:   $ADMIN_USER / $pass      (kept in $CACHE/admin-password)

  Logs:          $p logs -f $NAME
  Status:        $p exec $NAME appagent status
  Backup now:    $p exec $NAME systemctl start wiki-backup.service   (files in /data/backup)
  Shell:         $p exec -it $NAME bash
  Stop:          make demo-stop      ($p stop $NAME)
  Start again:   make demo           (same volume: the wiki and its pages stay)
  Remove all:    make demo-clean     (container, volume $VOLUME and image)
TXT
}

case "${1:-run}" in
run) run ;;
stop)
	setup_podman
	pm stop -t 30 "$NAME"
	;;
clean)
	setup_podman
	pm rm -f -t 15 "$NAME" 2>/dev/null || true
	pm volume rm -f "$VOLUME" 2>/dev/null || true
	pm secret rm appagent-wiki-admin-password 2>/dev/null || true
	pm rmi -f "$IMAGE" 2>/dev/null || true
	rm -f "$CACHE/admin-password" examples/wiki/appagent
	echo "removed the demo container, its volume $VOLUME and the image $IMAGE"
	;;
*) die "usage: $0 [run|stop|clean]" ;;
esac
