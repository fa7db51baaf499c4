#!/usr/bin/env bash
# LocalStack for cloud-egress: installs localstack-core 4.14.0 (the last release that runs without an
# auth token) into a Python venv under the user's cache folder, and runs it on the host with EC2 (and the
# services --services adds).
#
#   localstack/localstack.sh install                 # idempotent; safe to run from several processes at once
#   localstack/localstack.sh run [--port N] [--no-patches] [--services ec2,iam,sts]
#                                                    # installs if needed, runs in the foreground on 127.0.0.1:N
#                                                    # (--services: LocalStack's SERVICES; default ec2)
#   localstack/localstack.sh path                    # prints the venv's python
#
# Environment: LOCALSTACK_PYTHON (the interpreter the venv is made from; default python3.11, else python3),
# XDG_CACHE_HOME (cache root; default ~/.cache). The venv lives in
# ${XDG_CACHE_HOME:-$HOME/.cache}/cloud-egress/localstack-4.14.0/venv (the same folder test/support/cache-dir.ts names).
set -euo pipefail

VERSION=4.14.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cloud-egress/localstack-$VERSION"
VENV="$CACHE/venv"
CONSTRAINTS="$HERE/constraints.txt"

log() { printf 'localstack.sh: %s\n' "$*" >&2; }

pick_python() {
  if [[ -n "${LOCALSTACK_PYTHON:-}" ]]; then echo "$LOCALSTACK_PYTHON"; return; fi
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  log "no Python 3.10+ found; install python3 (e.g. apt-get install python3 python3-venv)"
  exit 1
}

# The marker names the constraints' hash, so a change to constraints.txt reinstalls.
marker() {
  local sum
  sum="$(sha256sum "$CONSTRAINTS" | cut -c1-16)"
  echo "$CACHE/.installed-$sum"
}

install() {
  mkdir -p "$CACHE"
  local done_marker
  done_marker="$(marker)"
  [[ -f "$done_marker" ]] && return 0
  # One installer at a time: a second caller waits here, then finds the marker.
  exec 9>"$CACHE/.install.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
  else
    log "flock not found (util-linux); installing without a lock"
  fi
  if [[ -f "$done_marker" ]]; then
    exec 9>&-
    return 0
  fi
  local python
  python="$(pick_python)"
  log "installing localstack-core[runtime]==$VERSION into $VENV (first run only; a few minutes)"
  rm -rf "$VENV" "$CACHE"/.installed-*
  "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" "localstack-core[runtime]==$VERSION" >&2
  "$VENV/bin/python" -c 'import localstack.runtime.main, moto.ec2' >&2
  touch "$done_marker"
  exec 9>&- # releases the lock
  log "installed"
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

run() {
  local port="" patches=1 services=ec2
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --no-patches) patches=0; shift ;;
      --services) services="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  install
  [[ -n "$port" ]] || port="$(free_port)"
  ROOT="$(mktemp -d "${TMPDIR:-/tmp}/localstack-fs.XXXXXX")"
  # LocalStack is killed when this script dies, even by SIGKILL (a stop below asks it nicely first).
  local PDEATH=()
  if command -v setpriv >/dev/null 2>&1; then PDEATH=(setpriv --pdeathsig KILL --); fi
  log "starting $services on http://127.0.0.1:$port (EC2 fidelity patches: $([[ $patches == 1 ]] && echo on || echo off))"
  SERVICES="$services" \
    GATEWAY_LISTEN="127.0.0.1:$port" \
    DNS_ADDRESS=0 \
    DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    OVERRIDE_IN_DOCKER=0 \
    MOTO_EC2_LOAD_DEFAULT_AMIS="${MOTO_EC2_LOAD_DEFAULT_AMIS:-false}" \
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
    FILESYSTEM_ROOT="$ROOT" \
    AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
    CLOUD_EGRESS_EC2_PATCHES="$patches" \
    PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" \
    "${PDEATH[@]}" "$VENV/bin/python" "$HERE/launcher.py" &
  CHILD=$!
  # Forward a stop to LocalStack (SIGTERM starts a clean shutdown); if it is not gone within 10 s, kill it.
  trap 'kill -TERM "$CHILD" 2>/dev/null || true; (sleep 10; kill -KILL "$CHILD" 2>/dev/null) &' TERM INT HUP
  local rc=0
  wait "$CHILD" || rc=$?
  if kill -0 "$CHILD" 2>/dev/null; then wait "$CHILD" || rc=$?; fi
  rm -rf "$ROOT"
  return "$rc"
}

main() {
  case "${1:-}" in
    install) install ;;
    run) shift; run "$@" ;;
    path) echo "$VENV/bin/python" ;;
    *) sed -n '2,14p' "$0" >&2; exit 2 ;;
  esac
}

# Everything above is only definitions, so bash has read the whole file before anything runs (safe even if
# the file changes on disk while LocalStack is running).
main "$@"
