#!/bin/bash
# Waits until a TCP port accepts connections.
# Usage: wait-for-it.sh HOST:PORT [-s|--strict] [-q|--quiet] [-t|--timeout SECONDS] [-- COMMAND ARGS...]
# With --strict, COMMAND runs only if the port came up; the exit status is
# 0 when the port came up and 124 on timeout (0 = wait forever).

TARGET=""
STRICT=0
QUIET=0
TIMEOUT=15
COMMAND=()

say() { [ "$QUIET" -eq 1 ] || echo "wait-for-it: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        *:*) TARGET="$1"; shift ;;
        -s|--strict) STRICT=1; shift ;;
        -q|--quiet) QUIET=1; shift ;;
        -t) TIMEOUT="$2"; shift 2 ;;
        --timeout=*) TIMEOUT="${1#*=}"; shift ;;
        -h) TARGET="$2:${TARGET#*:}"; shift 2 ;;
        --) shift; COMMAND=("$@"); break ;;
        *) echo "wait-for-it: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

HOST="${TARGET%:*}"
PORT="${TARGET##*:}"
if [ -z "$HOST" ] || [ -z "$PORT" ]; then
    echo "wait-for-it: give the target as HOST:PORT" >&2
    exit 2
fi

START=$(date +%s)
say "waiting ${TIMEOUT}s for $HOST:$PORT"
RESULT=124
while :; do
    if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
        RESULT=0
        say "$HOST:$PORT is available after $(( $(date +%s) - START ))s"
        break
    fi
    if [ "$TIMEOUT" -gt 0 ] && [ $(( $(date +%s) - START )) -ge "$TIMEOUT" ]; then
        say "timeout after ${TIMEOUT}s waiting for $HOST:$PORT"
        break
    fi
    sleep 0.05
done

if [ ${#COMMAND[@]} -gt 0 ]; then
    if [ "$RESULT" -ne 0 ] && [ "$STRICT" -eq 1 ]; then
        say "strict mode, not running the command"
        exit "$RESULT"
    fi
    exec "${COMMAND[@]}"
fi
exit "$RESULT"
