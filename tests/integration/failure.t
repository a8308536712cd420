#!/bin/bash
# Faults are normal: an unreachable agentd is EIO with one clear message,
# never a hang; an agentd that dies and comes back on the same endpoint
# serves the same running program again (the shim joins anew); agentd
# binds and clients reach tcp://localhost.
. "$(dirname "$0")/../lib.sh"

# ---- agentd unreachable ---------------------------------------------------

# Not port 1 blindly: any process may listen there. A port just released
# by the kernel has no listener.
dead=tcp://127.0.0.1:$(free_port)
ZMX_TIMEOUT_MS=1000 timeout 20 "$B/zmx" run -e "$dead" -C "$WS" -- \
    cat "$WS/x" >"$T/out" 2>"$T/err"
st=$?
err=$(cat "$T/err")
ok $([ "$st" -ne 124 ]; echo $?) "cat with agentd unreachable does not hang"
is "$st" 1 "cat exits with its error status"
like "$err" "^cat: $WS/x: Input/output error$" "cat reports EIO"
is "$(grep -c '^zmx' "$T/err")" 1 "stderr has exactly one zmx line"
like "$(grep '^zmx' "$T/err")" "$dead" "and it names the endpoint"
is "$(cat "$T/out")" "" "nothing on stdout"

# ---- agentd restarts mid-session ------------------------------------------

port=$(free_port)
printf 'before\n' > "$R/ws/f1.txt"
printf 'after\n' > "$R/ws/f2.txt"
zmx_start_agentd -l "tcp://127.0.0.1:$port"
is "$EP" "tcp://127.0.0.1:$port" "agentd listens on the fixed port"

# One bash process: an operation, a pause on a local fifo while agentd is
# replaced, then more operations on the same connection.
mkfifo "$T/go"
ZMX_TIMEOUT_MS=5000 timeout 30 "$B/zmx" run -e "$EP" -C "$WS" -- bash -c '
	read -r a < f1.txt; echo "first $a"
	read -r _ < "$1"
	read -r b < f2.txt; echo "second $b"
	echo written > after.txt && echo "wrote $?"' bash "$T/go" \
    >"$T/out" 2>"$T/err" &
run=$!
for _ in $(seq 1 100); do
	grep -q first "$T/out" 2>/dev/null && break
	sleep 0.05
done
is "$(cat "$T/out")" "first before" "the first read went through"

kill -KILL "$AGENTD_PID"
wait "$AGENTD_PID" 2>/dev/null
AGENTD_PID=
zmx_start_agentd -l "tcp://127.0.0.1:$port"
is "$EP" "tcp://127.0.0.1:$port" "a new agentd on the same endpoint"

echo go > "$T/go"
wait "$run"
st=$?
is "$st" 0 "the program finished normally"
is "$(cat "$T/out")" "$(printf 'first before\nsecond after\nwrote 0')" \
    "reads and writes after the restart worked"
is "$(cat "$R/ws/after.txt" 2>&1)" "written" "the write after the restart is on the remote side"
unlike "$(cat "$T/err")" "Input/output error" "no operation failed with EIO"

zmx_stop_agentd

# ---- tcp://localhost, which the docs allow ----------------------------------

port=$(free_port)
zmx_start_agentd -l "tcp://localhost:$port"
is "$EP" "tcp://127.0.0.1:$port" "agentd binds tcp://localhost as 127.0.0.1"
echo via-localhost > "$R/ws/lh.txt"
EP=tcp://localhost:$port
is "$(zmx_run cat lh.txt 2>&1)" "via-localhost" "a client reaches it as tcp://localhost"

local_untouched
done_testing
