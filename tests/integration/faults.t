#!/bin/bash
# What a program wrote is never lost or destroyed by a fault: agentd
# killed during a write-back (with O_TRUNC and without) leaves the old
# content or the new, a lost write-back is kept in a recovery file and
# zmx run says so, and the restarted agentd removes the temp file; a full
# disk is ENOSPC from fsync() with the old content intact (close() does
# not wait for the write-back: the session writes behind); a 7 s network stall is one timeout, then recovery,
# with nothing carried out twice; a stopped agentd costs a script one
# timeout, not one per process.
#
# Runs in a mount namespace of its own (re-executed under unshare), so
# the small tmpfs it mounts goes with it.
if [ -z "${ZMX_FAULTS_NS:-}" ]; then
	ZMX_FAULTS_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
MB50=$((50 * 1024 * 1024))
export ZMX_RECOVERY_DIR=$T/recovered

# ---- agentd killed during a 50 MB write-back ---------------------------

port=$(free_port)
zmx_start_agentd -l "tcp://127.0.0.1:$port"

# writeback_kill MODE: MODE wb (open with O_TRUNC) or r+b (in place).
# The remote file holds 50 MB of "old" bytes; the program writes 50 MB
# of "new" ones and closes; agentd is killed -9 while the temp file of
# the write-back is there.
writeback_kill() {
	local mode=$1 tmpseen=0 st got old new
	head -c $MB50 /dev/zero | tr '\0' 'o' > "$R/ws/big.bin"
	old=$(md5sum < "$R/ws/big.bin")
	new=$(head -c $MB50 /dev/zero | tr '\0' 'n' | md5sum)
	ZMX_TIMEOUT_MS=3000 zmx_run $PY -c '
import sys
f = open("big.bin", sys.argv[1])
f.write(b"n" * (50 << 20))
try:
    f.close()
    print("close ok")
except OSError as e:
    print("close failed:", e.strerror)
' "$mode" >"$T/out" 2>"$T/err" &
	local run=$!
	for _ in $(seq 1 2000); do
		if ls -a "$R/ws" | grep -q '^\.big\.bin\.zmx-'; then
			tmpseen=1
			break
		fi
		sleep 0.005
	done
	kill -KILL "$AGENTD_PID"
	wait "$AGENTD_PID" 2>/dev/null
	AGENTD_PID=
	wait "$run"
	st=$?
	ok $([ $tmpseen = 1 ]; echo $?) "$mode: agentd killed while the temp file of the write-back was there"
	got=$(md5sum < "$R/ws/big.bin")
	ok $([ "$got" = "$old" ] || [ "$got" = "$new" ]; echo $?) \
	    "$mode: the remote file holds the old or the new content, whole"
	is "$(cat "$T/out")" "close ok" \
	    "$mode: close() returned (the session writes behind)"
	if [ "$got" = "$old" ]; then
		is "$st" 1 "$mode: the old content stayed, and zmx run says the write-back was lost"
		like "$(cat "$T/err")" "was not written back .*its content is in $T/recovered/" \
		    "$mode: and names the recovery file"
	else
		is "$st" 0 "$mode: the new content landed, and the program ended normally"
		ok 0 "$mode: no recovery file needed"
	fi
	ls -a "$R/ws" | grep '^\.big\.bin\.zmx-' > "$T/temps"
	zmx_start_agentd -l "tcp://127.0.0.1:$port"
	ok $([ -s "$T/temps" ]; echo $?) "$mode: the killed agentd left its temp file"
	is "$(ls -a "$R/ws" | grep -c '^\.big\.bin\.zmx-')" 0 \
	    "$mode: the restarted agentd removed it"
	like "$(cat "$T/agentd.log")" "removed .*\.big\.bin\.zmx-.*an upload agentd did not finish" \
	    "$mode: and said so"
	is "$(ls "$T/state/uploads")" "" "$mode: no upload record is left"
}
writeback_kill wb
writeback_kill r+b
zmx_stop_agentd

# ---- a full disk: a 5 MB tmpfs as the workspace ------------------------

mkdir -p "$T/full"
mount -t tmpfs -o size=5m zmxfull "$R/ws" || skip_all "cannot mount a tmpfs"
head -c 3000000 /dev/zero | tr '\0' 'o' > "$R/ws/f.bin"
old=$(md5sum < "$R/ws/f.bin")
zmx_start_agentd
zmx_run $PY -c '
import os
f = open("f.bin", "wb")
f.write(b"n" * (10 << 20))
try:
    f.flush()
    os.fsync(f.fileno())
    print("fsync ok")
except OSError as e:
    print("fsync failed:", e.strerror)
try:
    f.close()
    print("close ok")
except OSError as e:
    print("close failed:", e.strerror)
try:
    with open("f.bin", "rb") as g:
        print("read back", len(g.read()))
except OSError as e:
    print("read failed:", e.strerror)
' >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "$(printf '%s\n' 'fsync failed: No space left on device' \
    'close ok' 'read back 10485760')" \
    "10 MB into 5 MB: fsync reports ENOSPC; the session keeps the new content for its processes"
is "$(md5sum < "$R/ws/f.bin")" "$old" "the remote file kept its old content"
is "$(ls -a "$R/ws" | grep -c 'zmx-')" 0 "no temp file is left on the full disk"
like "$(cat "$T/err")" "write-back of $WS/f.bin: No space left on device" \
    "stderr names the file and the reason"
# a new file that does not fit: its stat while it was open wrote back the
# empty file (a program sees its own file by path), the 10 MB never land,
# and the program saw it all along
zmx_run $PY -c '
import os
f = open("new.bin", "wb")
print("exists while open:", os.path.exists("new.bin"))
f.write(b"n" * (10 << 20))
try:
    f.close()
    print("close ok")
except OSError as e:
    print("close failed:", e.strerror)
print("exists after:", os.path.exists("new.bin"))
' >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "$(printf '%s\n' 'exists while open: True' \
    'close ok' 'exists after: True')" \
    "a new 10 MB file on the full disk: seen while open and after"
ok $([ ! -s "$R/ws/new.bin" ]; echo $?) "no part of its 10 MB landed remotely"
is "$(ls -a "$R/ws" | grep -c 'zmx-')" 0 "nor a temp file"
zmx_stop_agentd
umount "$R/ws"

# ---- a 7 s stall of the network ----------------------------------------

zmx_start_agentd --log-level info
pport=$(free_port)
"$B/tests/latproxy" "$pport" "${EP##*:}" 0 2>"$T/latproxy.log" &
proxy=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$pport") 2>/dev/null && break
	sleep 0.05
done
mkfifo "$T/go1" "$T/go2" "$T/go3" "$T/go4"
EP_AGENTD=$EP
EP=tcp://127.0.0.1:$pport
ZMX_TIMEOUT_MS=5000 zmx_run $PY -c '
import os, sys
def mkdir(d):
    try:
        os.mkdir(d)
        print("mkdir", d, "ok", flush=True)
    except OSError as e:
        print("mkdir", d, "failed:", e.strerror, flush=True)
os.stat(".")
print("ready", flush=True)
open(sys.argv[1]).read()
mkdir("d1")
open(sys.argv[2]).read()
os.stat(".")		# a connection that works, before the next stall
print("ready", flush=True)
open(sys.argv[3]).read()
mkdir("d2")
open(sys.argv[4]).read()
print(sorted(n for n in os.listdir(".") if n.startswith("d")))
mkdir("d1")
' "$T/go1" "$T/go2" "$T/go3" "$T/go4" >"$T/stall.out" 2>"$T/stall.err" &
run=$!
for _ in $(seq 1 100); do
	grep -qx ready "$T/stall.out" 2>/dev/null && break
	sleep 0.05
done
# 7 s: past the first try (2.5 s) and the retry on a new connection (5 s)
stop_proc "$proxy"
echo go > "$T/go1"
sleep 7
kill -CONT "$proxy"
# past the session's fail-fast window (5 s from the timeout at 5 s)
sleep 4
echo go > "$T/go2"
for _ in $(seq 1 100); do
	[ "$(grep -cx ready "$T/stall.out")" = 2 ] && break
	sleep 0.05
done
# 3.5 s: the retry, sent at 2.5 s, gets through before the deadline
stop_proc "$proxy"
echo go > "$T/go3"
sleep 3.5
kill -CONT "$proxy"
echo go > "$T/go4"
wait "$run"
# The stalled mkdir d1 reaches agentd late, or not at all: its first
# copy went on a connection closed at 2.5 s (agentd may drop what came
# just before the close) and its retry may still be in the handshake at
# 5 s. Either way it is made at most once, and the program's own second
# mkdir agrees with what happened.
if grep -qx "\['d1', 'd2'\]" "$T/stall.out"; then
	late="['d1', 'd2']
mkdir d1 failed: File exists"
	diag "the stalled mkdir d1 was carried out when the stall ended"
else
	late="['d2']
mkdir d1 ok"
	diag "the stalled mkdir d1 never reached agentd"
fi
is "$(cat "$T/stall.out")" "$(printf '%s\n' ready \
    'mkdir d1 failed: Input/output error' ready 'mkdir d2 ok' "$late")" \
    "a 7 s stall: mkdir d1 timed out (EIO); a 3.5 s one: mkdir d2 went through on the retry"
is "$(grep -c '^zmx' "$T/stall.err")" 1 "one timeout line on stderr"
is "$(grep "op=mkdir path=$WS/d1 " "$T/audit.log" | grep -c 'result=ok$')" 1 \
    "d1 was made once in all: late, or by the program's second try"
is "$(grep -c "op=mkdir path=$WS/d2 " "$T/audit.log")" 1 \
    "d2's mkdir, sent twice, was carried out once"
# Whether the first copy reaches agentd at all is libzmq's race (its
# connection closed at 2.5 s; agentd may drop what came just before the
# close): either way the mkdir was made once, above. abuse.t repeats a
# request deterministically.
diag "copies of d2's mkdir answered from the reply cache: $(grep -c \
    'mkdir [0-9]* answered again from the reply cache' "$T/agentd.log")"
ok $([ -d "$R/ws/d1" ] && [ -d "$R/ws/d2" ]; echo $?) "both directories exist remotely"
kill "$proxy"
wait "$proxy" 2>/dev/null
EP=$EP_AGENTD

# ---- a stopped agentd costs a script one timeout -------------------------

echo data > "$R/ws/x"
stop_proc "$AGENTD_PID"
ZMX_TIMEOUT_MS=2000 zmx_run bash -c '
	for i in 1 2 3 4 5 6; do cat x; echo "cat $?"; done' \
    >"$T/out" 2>"$T/err"
kill -CONT "$AGENTD_PID"
is "$(grep -c '^cat 1$' "$T/out")" 6 "six cats against a stopped agentd each fail"
is "$(grep -c 'no answer from agentd' "$T/err")" 1 \
    "and only the first waits out a timeout: the session fails fast for the rest"

local_untouched
done_testing
