#!/usr/bin/env bash
# Build a local PostgreSQL 15 Docker image that behaves like the official
# `postgres` image for testcontainers' PostgresContainer, without any container
# registry: debootstrap a minimal Debian bookworm root filesystem with
# postgresql-15 from the Debian mirror this machine's apt already uses, add
# entrypoint.sh, and `docker import` it. See README.md next to this file.
#
# Usage: ci/pg-image/build.sh [IMAGE_TAG]     (default: labkit-postgres:15-debian)
# Env:   LABKIT_PG_MAJOR / LABKIT_DEBIAN_SUITE  another PostgreSQL from another Debian release, for the
#                                version matrix: LABKIT_PG_MAJOR=17 LABKIT_DEBIAN_SUITE=trixie
#                                ci/pg-image/build.sh labkit-postgres:17-trixie
#        LABKIT_STOP_DOCKERD=1   stop dockerd at the end if this script started it
#        LABKIT_DEBIAN_MIRROR    use this mirror instead of the one from apt's sources
# Needs root (apt-get, debootstrap, dockerd).
set -euo pipefail

TAG="${1:-labkit-postgres:15-debian}"
SUITE="${LABKIT_DEBIAN_SUITE:-bookworm}"
PG_MAJOR="${LABKIT_PG_MAJOR:-15}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DOCKERD_PIDFILE=/tmp/labkit-dockerd.pid
DOCKERD_LOG=/tmp/labkit-dockerd.log
DEBOOTSTRAP_LOG=/tmp/labkit-pg-debootstrap.log

log() { printf '[pg-image] %s\n' "$*"; }
die() { printf '[pg-image] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, debootstrap and dockerd need it)"

STARTED_DOCKERD=0
ROOTFS=""

# --- cleanup -------------------------------------------------------------------
# Unmount anything left mounted below the rootfs (debootstrap mounts /proc,
# /sys, /dev/pts there), kill processes still running inside it, then delete it
# without ever crossing into another file system.
remove_rootfs() {
	[ -n "$ROOTFS" ] && [ -d "$ROOTFS" ] || return 0
	local p m
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOTFS" ]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
	done
	# deepest mount points first
	awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
	if awk -v r="$ROOTFS" 'index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
		log "WARNING: mounts remain below $ROOTFS; not deleting it"
		return 0
	fi
	rm -rf --one-file-system "$ROOTFS"
}

stop_dockerd() {
	[ "$STARTED_DOCKERD" = 1 ] && [ "${LABKIT_STOP_DOCKERD:-0}" = 1 ] || return 0
	local pid
	pid="$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)"
	[ -n "$pid" ] || return 0
	log "stopping dockerd (pid $pid) as LABKIT_STOP_DOCKERD=1"
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
	kill -0 "$pid" 2>/dev/null && log "WARNING: dockerd (pid $pid) still running after 30 s"
	rm -f "$DOCKERD_PIDFILE"
}

on_exit() {
	local rc=$?
	remove_rootfs
	stop_dockerd
	exit "$rc"
}
trap on_exit EXIT

# --- 1. tools ------------------------------------------------------------------
t0=$(now)
missing=()
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	log "installing: ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
log "tools ready in $(since "$t0") s"

# --- 2. docker daemon ------------------------------------------------------------
t0=$(now)
if ! docker info >/dev/null 2>&1; then
	log "docker daemon not answering; starting dockerd (log: $DOCKERD_LOG)"
	# --ip: ports published without an explicit host address bind to the
	# loopback only (defence in depth; the lab binds 127.0.0.1 explicitly too).
	setsid dockerd --ip=127.0.0.1 >"$DOCKERD_LOG" 2>&1 </dev/null &
	launcher=$!
	STARTED_DOCKERD=1
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && break
		if ! kill -0 "$launcher" 2>/dev/null; then
			tail -n 20 "$DOCKERD_LOG" >&2 || true
			die "dockerd exited during startup (see $DOCKERD_LOG)"
		fi
		sleep 1
	done
	if ! docker info >/dev/null 2>&1; then
		tail -n 20 "$DOCKERD_LOG" >&2 || true
		kill "$launcher" 2>/dev/null || true
		die "dockerd did not answer within 60 s (see $DOCKERD_LOG)"
	fi
	# dockerd writes its own pid file; fall back to the launcher's pid.
	cat /var/run/docker.pid 2>/dev/null >"$DOCKERD_PIDFILE" || echo "$launcher" >"$DOCKERD_PIDFILE"
	log "dockerd up (pid $(cat "$DOCKERD_PIDFILE"), written to $DOCKERD_PIDFILE) in $(since "$t0") s"
else
	log "docker daemon already running"
fi

# --- 3. reuse an existing image ------------------------------------------------------
if docker image inspect "$TAG" >/dev/null 2>&1; then
	log "image $TAG already exists ($(docker image inspect -f '{{.Id}}' "$TAG")); reusing it"
	exit 0
fi

# --- 4. the Debian mirror this machine's apt uses --------------------------------------
# First URI of an enabled "deb" source for $SUITE, from one-line (.list) or
# deb822 (.sources) files. No host name is written down here.
find_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == suite && $i ~ /^(https?|file):\/\//) { print $i; exit }
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled !~ /^[Nn]o/ && uri != "")
					{ print uri; found = 1; exit }
				types = suites = uri = enabled = ""
			}
			/^#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1); sub(/:$/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = val
				else if (key == "uris") { split(val, u, /[ \t]+/); if (u[1] ~ /^(https?|file):\/\//) uri = u[1] }
			}
			END { if (!found) flush() }' "$f"
	done
}
MIRROR="${LABKIT_DEBIAN_MIRROR:-$(find_mirror | head -n 1)}"
if [ -z "$MIRROR" ]; then
	# another release than this machine's: the mirror apt uses for this machine's own release serves it too
	SUITE_WANTED="$SUITE"
	SUITE="$(. /etc/os-release && echo "$VERSION_CODENAME")"
	MIRROR="$(find_mirror | head -n 1)"
	SUITE="$SUITE_WANTED"
fi
[ -n "$MIRROR" ] || die "no 'deb' source for $SUITE found in /etc/apt/sources.list{,.d/}; set LABKIT_DEBIAN_MIRROR"
log "Debian mirror (from apt's configuration): $MIRROR"

# --- 5. debootstrap ------------------------------------------------------------------
t_build=$(now)
ROOTFS="$(mktemp -d /var/tmp/labkit-pg-rootfs.XXXXXX)"
t0=$(now)
log "debootstrap $SUITE (minbase + postgresql-$PG_MAJOR) into $ROOTFS (log: $DEBOOTSTRAP_LOG)"
if ! debootstrap --variant=minbase --components=main \
	--include="postgresql-$PG_MAJOR,locales" \
	"$SUITE" "$ROOTFS" "$MIRROR" >"$DEBOOTSTRAP_LOG" 2>&1; then
	tail -n 30 "$DEBOOTSTRAP_LOG" >&2 || true
	die "debootstrap failed (see $DEBOOTSTRAP_LOG)"
fi
T_DEBOOTSTRAP=$(since "$t0")
log "debootstrap done in $T_DEBOOTSTRAP s"

# --- 6. customise the root filesystem ------------------------------------------------------
t0=$(now)
# Debian's postinst creates a cluster "main"; the image initialises PGDATA itself.
rm -rf "$ROOTFS/etc/postgresql/$PG_MAJOR/main" "$ROOTFS/var/lib/postgresql/$PG_MAJOR"
# en_US.UTF-8 like the official image (LANG=en_US.utf8 -> UTF8 databases).
chroot "$ROOTFS" localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8
install -m 0755 "$HERE/entrypoint.sh" "$ROOTFS/usr/local/bin/docker-entrypoint.sh"
install -d -m 0755 "$ROOTFS/docker-entrypoint-initdb.d"
install -d -m 3777 -o "$(chroot "$ROOTFS" id -u postgres)" -g "$(chroot "$ROOTFS" id -g postgres)" \
	"$ROOTFS/var/run/postgresql"
[ -x "$ROOTFS/usr/bin/setpriv" ] || die "setpriv (util-linux) missing from the rootfs"
[ -x "$ROOTFS/usr/lib/postgresql/$PG_MAJOR/bin/psql" ] || die "psql missing from the rootfs"
# Slim down; Docker provides /dev, resolv.conf, hostname and hosts at run time.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
	"$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
	"$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/tmp/* "$ROOTFS"/root/.bash_history
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/hostname"
log "rootfs customised in $(since "$t0") s ($(du -sh --one-file-system "$ROOTFS" | cut -f1))"

# --- 7. docker import ----------------------------------------------------------------------
t0=$(now)
changes=(
	--change 'ENTRYPOINT ["docker-entrypoint.sh"]'
	--change 'CMD ["postgres"]'
	--change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	--change "ENV PG_MAJOR=$PG_MAJOR"
	--change 'ENV LANG=en_US.utf8'
	--change 'ENV PGDATA=/var/lib/postgresql/data'
	--change 'EXPOSE 5432'
	--change "LABEL org.opencontainers.image.description=\"PostgreSQL $PG_MAJOR from Debian $SUITE, built by ci/pg-image/build.sh\""
)
# Exclude the device nodes debootstrap made: Docker mounts its own /dev.
tar --numeric-owner --xattrs -C "$ROOTFS" --exclude='./dev/*' -cf - . |
	docker import "${changes[@]}" - "$TAG-imported" >/dev/null
T_IMPORT=$(since "$t0")
log "docker import done in $T_IMPORT s"

# `docker import --change` refuses STOPSIGNAL, so add it with a one-line build
# (config only, no new layer; the classic builder needs no registry or buildx).
# SIGINT is postgres' "fast shutdown", as in the official image: `docker stop`
# then does not wait for open client connections.
t0=$(now)
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$TAG-imported" |
	DOCKER_BUILDKIT=0 docker build -q -t "$TAG" - >/dev/null 2>"$DEBOOTSTRAP_LOG.build" ||
	{ cat "$DEBOOTSTRAP_LOG.build" >&2; die "docker build (STOPSIGNAL) failed"; }
docker rmi "$TAG-imported" >/dev/null
log "STOPSIGNAL added in $(since "$t0") s"

t0=$(now)
remove_rootfs
ROOTFS=""
log "temporary rootfs removed in $(since "$t0") s"

log "built $TAG: $(docker image inspect -f '{{.Id}} {{.Size}}' "$TAG" | awk '{ printf "%s, %.0f MB", $1, $2 / 1e6 }')"
log "timings: debootstrap ${T_DEBOOTSTRAP} s, import ${T_IMPORT} s, total build $(since "$t_build") s"
