#!/usr/bin/env bash
# One idempotent setup entry point for developers and CI (see README "Setup").
#
#   1. host packages (Docker engine, debootstrap, rsync, python3-venv) when missing
#   2. the Docker daemon when `docker info` does not answer
#   3. systemd base images for Debian 12 and 13: kept when present, pulled when a
#      registry answers, otherwise built locally with debootstrap + docker import
#   4. the project virtualenv (.venv) from requirements-dev.txt, rebuilt only when
#      that file changes; test tools with conflicting pins (sslyze) in .tools/venv.
#      A clone without them links both to virtualenvs kept in the cache directory, one
#      per set of pins, shared by every clone of this machine (CI's clean clones too);
#      the editable install of app_src is pointed at this clone.
#
# Rerunning on a prepared machine does nothing slow (a few docker/pip look-ups).
#
# Environment knobs (all optional):
#   FLASKY_IMAGE_DEBIAN12 / FLASKY_IMAGE_DEBIAN13  image names (defaults below)
#   FLASKY_IMAGE_PULL=auto|never|always            try a registry before building (auto)
#   FLASKY_PULL_TIMEOUT=20                         seconds a pull attempt may take
#   FLASKY_DEBIAN_MIRROR=http://deb.debian.org/debian
#   FLASKY_VENV=.venv  FLASKY_TOOLS=.tools  PYTHON=python3
#   FLASKY_CACHE=~/.cache/flasky-deploy             where the shared virtualenvs live
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

log() { printf '[setup] %s\n' "$*" >&2; }

IMAGE_DEBIAN12=${FLASKY_IMAGE_DEBIAN12:-flasky/debian-systemd:12}
IMAGE_DEBIAN13=${FLASKY_IMAGE_DEBIAN13:-flasky/debian-systemd:13}
IMAGE_PULL=${FLASKY_IMAGE_PULL:-auto}
PULL_TIMEOUT=${FLASKY_PULL_TIMEOUT:-20}
MIRROR=${FLASKY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VENV=${FLASKY_VENV:-$here/.venv}
CACHE=${FLASKY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flasky-deploy}
PYTHON=${PYTHON:-python3}
# Packages every base image carries: what a freshly installed Debian server has
# (systemd as init, python3 for Ansible, sudo, iproute2, CA certificates, netbase).
IMAGE_PACKAGES=systemd,systemd-sysv,python3,sudo,iproute2,ca-certificates,netbase

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. host packages ---------------------------------------------------------
need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)  # the lab and `cluster` reach hosts over SSH
"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing host packages: ${need_pkgs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need_pkgs[@]}" >/dev/null
fi

# --- 2. docker daemon ---------------------------------------------------------
# A daemon that does not answer within DOCKER_WAIT seconds is stopped and started
# once more (a stale pid file or a containerd that lost its socket keeps a first
# start from coming up); the end of its log is printed when the second try fails.
DOCKER_WAIT=${FLASKY_DOCKER_WAIT:-90}
docker_up() {
  local _
  for _ in $(seq 1 "$DOCKER_WAIT"); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}
start_docker() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl restart docker || true
  else
    as_root sh -c 'nohup dockerd >>/var/log/dockerd.log 2>&1 &'
  fi
}
stop_docker() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl stop docker || true
  else
    as_root pkill -x dockerd || true
    sleep 3
    as_root pkill -x containerd || true
    as_root rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  fi
}
if ! docker info >/dev/null 2>&1; then
  log "starting the Docker daemon"
  start_docker
  if ! docker_up; then
    log "dockerd did not answer within ${DOCKER_WAIT}s; the end of /var/log/dockerd.log:"
    as_root tail -n 30 /var/log/dockerd.log >&2 || true
    log "stopping it and starting it once more"
    stop_docker
    start_docker
    docker_up || {
      log "dockerd did not come up; the end of /var/log/dockerd.log:"
      as_root tail -n 60 /var/log/dockerd.log >&2 || true
      exit 1
    }
  fi
fi

# --- 3. base images -----------------------------------------------------------
build_image() { # name suite
  local name=$1 suite=$2 root
  root=$(mktemp -d /var/tmp/flasky-rootfs.XXXXXX)
  # shellcheck disable=SC2064
  trap "as_root rm -rf '$root'" RETURN
  log "building $name from Debian $suite with debootstrap (about a minute)"
  as_root debootstrap --variant=minbase --include="$IMAGE_PACKAGES" \
    "$suite" "$root" "$MIRROR" >/tmp/flasky-debootstrap-"$suite".log 2>&1 \
    || { log "debootstrap failed, see /tmp/flasky-debootstrap-$suite.log"; return 1; }
  # Container hygiene: no apt caches or docs in the image, no machine-id shared by
  # every container (systemd creates one at boot), units that make no sense in a container
  # masked.
  as_root sh -c "
    set -e
    rm -rf '$root'/var/lib/apt/lists/* '$root'/var/cache/apt/*.bin
    : > '$root'/etc/machine-id
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' > '$root'/etc/dpkg/dpkg.cfg.d/01-container-nodoc
    for unit in getty@tty1.service serial-getty@.service systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service; do
      ln -sf /dev/null '$root'/etc/systemd/system/\$unit
    done
  "
  as_root tar -C "$root" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    - "$name" >/dev/null
  log "built $name"
}

ensure_image() { # name suite
  local name=$1 suite=$2
  if docker image inspect "$name" >/dev/null 2>&1; then
    return 0
  fi
  if [ "$IMAGE_PULL" != never ]; then
    log "trying to pull $name (at most ${PULL_TIMEOUT}s)"
    if timeout "$PULL_TIMEOUT" docker pull -q "$name" >/dev/null 2>&1; then
      log "pulled $name"
      return 0
    fi
    [ "$IMAGE_PULL" = always ] && { log "pull of $name failed and FLASKY_IMAGE_PULL=always"; return 1; }
  fi
  build_image "$name" "$suite"
}

ensure_image "$IMAGE_DEBIAN12" bookworm &
pid12=$!
ensure_image "$IMAGE_DEBIAN13" trixie &
pid13=$!

# --- 4. project virtualenv (runs while the images build) -------------------------
# link_cached LINK NAME: a missing LINK (not set by the environment) becomes a link to
# $CACHE/NAME, the virtualenv of these pins that any clone of this machine may have made.
link_cached() {
  local link=$1 name=$2
  if [ ! -e "$link" ] && [ ! -L "$link" ]; then
    mkdir -p "$CACHE/$name"
    ln -s "$CACHE/$name" "$link"
  fi
}
req=requirements-dev.txt
want=$(sha256sum "$req" app_src/pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
[ -n "${FLASKY_VENV:-}" ] || link_cached "$VENV" "venv-${want:0:16}"
# Through the link's target: pip writes the interpreter's path into the scripts it installs.
VENV=$(readlink -f "$VENV")
stamp="$VENV/.requirements.sha256"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing the Python tooling into $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -r "$req" 2>&1 | { grep -v -e "^WARNING: Location" -e "^ *$" >&2 || true; }
  echo "$want" > "$stamp"
fi
# The reference app is installed editable: from this clone (a shared venv may point elsewhere).
if [ "$("$VENV/bin/python" -c 'import flasky, os; print(os.path.dirname(os.path.dirname(flasky.__file__)))' 2>/dev/null)" \
     != "$here/app_src" ]; then
  out=$("$VENV/bin/python" -m pip install -q --no-deps -e ./app_src 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
fi

# Tools the tests run that cannot share the project's venv (sslyze pins an older cryptography
# than ansible's): each in its own venv under .tools/, from requirements-tools.txt.
tools=${FLASKY_TOOLS:-$here/.tools}
want=$(sha256sum requirements-tools.txt | cut -d' ' -f1)
[ -n "${FLASKY_TOOLS:-}" ] || link_cached "$tools" "tools-${want:0:16}"
tools=$(readlink -f "$tools")
if [ ! -x "$tools/venv/bin/sslyze" ] || [ "$(cat "$tools/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  log "installing the test tools into $tools"
  mkdir -p "$tools"
  [ -x "$tools/venv/bin/python" ] || "$PYTHON" -m venv "$tools/venv"
  "$tools/venv/bin/python" -m pip install -q -r requirements-tools.txt 2>&1 \
    | { grep -v -e "^WARNING: Location" -e "^ *$" >&2 || true; }
  echo "$want" > "$tools/.requirements.sha256"
fi

rc=0
wait "$pid12" || rc=1
wait "$pid13" || rc=1
[ $rc -eq 0 ] || { log "base image preparation failed"; exit 1; }
log "ready: images $IMAGE_DEBIAN12 $IMAGE_DEBIAN13, venv $VENV"
