#!/bin/bash
# zmx run waits for the agent and ends as it did: its exit status, or
# death by the same signal; a kill of zmx run reaches the agent once; a
# signal the agent sends to zmx run is not bounced back; the session's
# private directory is there for the agent's processes and gone after.
. "$(dirname "$0")/../lib.sh"

zmx_start_agentd
PY=/usr/bin/python3

zmx_run sh -c 'exit 7'
is "$?" 7 "the agent's exit status"
(zmx_run sh -c 'kill -SEGV $$') 2>/dev/null
is "$?" $((128 + 11)) "death by SIGSEGV: zmx run dies of it too"

out=$(zmx_run sh -c 'ls -ld "$ZMX_SESSION_DIR" | cut -c1-10; echo "$ZMX_SESSION_DIR"')
dir=$(printf '%s\n' "$out" | sed -n 2p)
is "$(printf '%s\n' "$out" | sed -n 1p)" "drwx------" "the session directory is private"
ok $([ -n "$dir" ] && [ ! -e "$dir" ]; echo $?) "and gone when the agent ended"

# kill -TERM of zmx run: the agent's handler runs once
cat > "$T/sig.py" <<'PYEOF'
import signal, sys, time
n = 0
def h(s, f):
    global n
    n += 1
signal.signal(signal.SIGTERM, h)
signal.signal(signal.SIGUSR1, h)
print("ready", flush=True)
if len(sys.argv) > 1:
    import os
    os.kill(os.getppid(), signal.SIGUSR1)	# to zmx run
time.sleep(1.5)
print("handled", n)
PYEOF
"$B/zmx" run -e "$EP" -C "$WS" -- $PY "$T/sig.py" > "$T/out" &
run=$!
for _ in $(seq 1 100); do
	grep -q ready "$T/out" 2>/dev/null && break
	sleep 0.05
done
kill -TERM "$run"
wait "$run"
is "$(tail -1 "$T/out")" "handled 1" "kill -TERM of zmx run reaches the agent, once"
zmx_run $PY "$T/sig.py" bounce > "$T/out"
is "$(tail -1 "$T/out")" "handled 0" "a signal the agent sends zmx run is not sent back"

local_untouched
done_testing
