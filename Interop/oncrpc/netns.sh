#!/usr/bin/env bash
# netns.sh - run a command in a private network namespace that has its own rpcbind.
#
#   netns.sh run [--] CMD [ARG...]   namespace (net + mount, lo up, tmpfs on /run),
#                                    rpcbind -f in it, CMD run inside it; exits
#                                    with CMD's status
#   netns.sh available               exit 0 iff all of that works here (it does
#                                    a full "run -- rpcinfo -p 127.0.0.1" quietly)
#
# rpcbind binds port 111 on every address of its network namespace; in the
# private one there is only lo, so nothing is exposed on the machine's network.
# The namespace is held by a "sleep" process (unshare --net --mount sleep N);
# rpcbind and the holder are stopped by PID (TERM, then KILL after 5 s) on every
# exit path, including INT/TERM/HUP of this script.
#
# CMD runs through nsenter -n -m in the current directory with this script's
# environment plus ONCRPC_NETNS=1 and ONCRPC_RPCBIND=1, under timeout(1):
# NETNS_TIMEOUT seconds (default 600; then CMD's status is 124, as timeout's).
# Exit status: CMD's; 2 with a message on stderr when the namespace or rpcbind
# cannot be set up (no privileges, no unshare/nsenter/rpcbind, ...).
set -u

NETNS_TIMEOUT=${NETNS_TIMEOUT:-600}
HOLD_SECONDS=$((NETNS_TIMEOUT + 120))
HOLDER_PID=
RPCBIND_PID=
CMD_PID=
LOG=
QUIET=0

say() { [[ $QUIET == 1 ]] || echo "netns.sh: $*" >&2; }

stop_pid() { # PID : TERM, up to 5 s, then KILL; only this PID
  local pid=$1 i
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid did not stop on TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  stop_pid "$CMD_PID"; CMD_PID=
  stop_pid "$RPCBIND_PID"; RPCBIND_PID=
  stop_pid "$HOLDER_PID"; HOLDER_PID=
  [[ -n "$LOG" ]] && rm -f "$LOG"
  LOG=
}

fail() { # MESSAGE : set-up failure, exit 2
  say "$*"
  if [[ -n "$LOG" && -s "$LOG" && $QUIET == 0 ]]; then
    echo "netns.sh: rpcbind said:" >&2
    tail -n 20 "$LOG" >&2
  fi
  cleanup
  exit 2
}

on_signal() { # SIGNAL NUMBER
  say "caught SIG$1; cleaning up"
  trap - EXIT
  cleanup
  exit $((128 + $2))
}

start_namespace() {
  local tool i me
  for tool in unshare nsenter rpcbind rpcinfo ip timeout; do
    command -v "$tool" >/dev/null 2>&1 || fail "namespaces not available: '$tool' not found"
  done
  LOG=$(mktemp "${TMPDIR:-/tmp}/netns-rpcbind.XXXXXX") || fail "mktemp failed"

  unshare --net --mount sleep "$HOLD_SECONDS" </dev/null >/dev/null 2>>"$LOG" &
  HOLDER_PID=$!
  me=$(readlink /proc/$$/ns/net)
  for i in $(seq 1 50); do
    kill -0 "$HOLDER_PID" 2>/dev/null || { wait "$HOLDER_PID" 2>/dev/null; HOLDER_PID=
      fail "namespaces not available: unshare --net --mount failed (needs root or user namespaces)"; }
    [[ "$(readlink /proc/$HOLDER_PID/ns/net 2>/dev/null)" != "$me" &&
       -n "$(readlink /proc/$HOLDER_PID/ns/net 2>/dev/null)" ]] && break
    sleep 0.1
  done
  [[ "$(readlink /proc/$HOLDER_PID/ns/net 2>/dev/null)" != "$me" ]] ||
    fail "namespaces not available: the holder did not get its own network namespace in 5 s"

  nsenter -t "$HOLDER_PID" -m -- mount -t tmpfs tmpfs /run 2>>"$LOG" ||
    fail "namespaces not available: cannot mount a tmpfs on /run in the namespace"
  nsenter -t "$HOLDER_PID" -n -- ip link set lo up 2>>"$LOG" ||
    fail "namespaces not available: cannot bring lo up in the namespace"

  nsenter -t "$HOLDER_PID" -n -m -- rpcbind -f </dev/null >>"$LOG" 2>&1 &
  RPCBIND_PID=$!
  for i in $(seq 1 100); do
    if nsenter -t "$HOLDER_PID" -n -m -- timeout 5 rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$RPCBIND_PID" 2>/dev/null || { wait "$RPCBIND_PID" 2>/dev/null; RPCBIND_PID=
      fail "rpcbind exited in the namespace"; }
    sleep 0.1
  done
  fail "rpcbind did not answer rpcinfo -p 127.0.0.1 in the namespace within 10 s"
}

run_in_namespace() { # CMD... : exit status of CMD
  local rc
  ONCRPC_NETNS=1 ONCRPC_RPCBIND=1 \
    nsenter -t "$HOLDER_PID" -n -m --wd="$PWD" -- \
    timeout --kill-after=5 "$NETNS_TIMEOUT" "$@" <&0 &
  CMD_PID=$!
  wait "$CMD_PID"
  rc=$?
  CMD_PID=
  return $rc
}

usage() {
  echo "usage: netns.sh run [--] CMD [ARG...] | netns.sh available" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

case "$1" in
  run)
    shift
    [[ "${1:-}" == "--" ]] && shift
    [[ $# -ge 1 ]] || usage
    start_namespace
    run_in_namespace "$@"
    rc=$?
    cleanup
    exit $rc
    ;;
  available)
    QUIET=1
    [[ "${2:-}" == "-v" ]] && QUIET=0
    start_namespace
    run_in_namespace rpcinfo -p 127.0.0.1 >/dev/null 2>&1
    rc=$?
    cleanup
    [[ $rc == 0 ]] || exit 2
    exit 0
    ;;
  *)
    usage
    ;;
esac
