#!/bin/bash
# The session process: one file cache for every process of the agent, so
# that appends, locks and mappings between local processes behave as on a
# local disk, and what a process wrote reaches agentd however it ends
# (exit, _exit, a signal, SIGKILL).
. "$(dirname "$0")/../lib.sh"

command -v flock >/dev/null || skip_all "flock (util-linux) is not installed"
zmx_start_agentd

# 4 processes appending 10,000 lines each with >>: every line whole
zmx_run bash -c '
	for p in 1 2 3 4; do
		( for i in $(seq 1 10000); do echo "p$p line $i"; done >> log.txt ) &
	done
	wait' >"$T/o" 2>"$T/e"
is "$(wc -l < "$R/ws/log.txt")" 40000 "4 appenders x 10,000 lines: 40,000 lines remotely"
is "$(grep -cvE '^p[1-4] line [0-9]+$' "$R/ws/log.txt")" 0 "no line torn or mixed"
is "$(grep -c '^p3 line' "$R/ws/log.txt")" 10000 "each writer's lines all there"

# many short-lived appenders, one open and close each (bash's >> in a loop)
zmx_run bash -c '
	for p in 1 2 3 4; do
		( for i in $(seq 1 500); do echo "q$p $i" >> many.txt; done ) &
	done
	wait' >"$T/o" 2>"$T/e"
is "$(wc -l < "$R/ws/many.txt")" 2000 "4 x 500 appends, each its own open: 2,000 lines"

# a counter under flock from 2 processes x 1,000
echo 0 > "$R/ws/counter"
zmx_run bash -c '
	inc() { for i in $(seq 1 1000); do
		flock counter.lock -c "n=\$(cat counter); echo \$((n + 1)) > counter"
	done; }
	inc & inc & wait' >"$T/o" 2>"$T/e"
is "$(cat "$R/ws/counter")" 2000 "flock counter from 2 processes x 1,000: exactly 2,000"

# flock reaches agentd: a process on agentd's side holding it blocks
# the local one, and a local holder blocks it
echo 0 > "$R/ws/rlock"
zmx_remote flock rlock -c 'sleep 1.5; echo remote >> rlock' &
rl=$!
sleep 0.5
zmx_run flock rlock -c 'echo local >> rlock' >"$T/o" 2>"$T/e"
wait $rl
is "$(tr '\n' ' ' < "$R/ws/rlock")" "0 remote local " \
    "a flock held inside agentd's namespace blocks the local flock until released"
zmx_run flock -n rlock -c true >"$T/o" 2>"$T/e" &
lr=$!
zmx_remote flock rlock -c 'sleep 1' &
rl=$!
wait $lr $rl
zmx_remote sh -c 'flock -n rlock -c true && echo free' >"$T/o2" 2>&1
is "$(cat "$T/o2")" "free" "the session's lock on agentd goes when the local holder ends"
zmx_run bash -c 'exec 9>>rlock; flock -x 9; echo held; sleep 1.5' >"$T/o" 2>"$T/e" &
lr=$!
sleep 0.7
zmx_remote sh -c 'flock -n rlock -c true && echo free || echo busy' >"$T/o2" 2>&1
wait $lr
is "$(cat "$T/o2")" "busy" "a local flock holder blocks a process on agentd's side"

# python: lockf waits for the holder, then reads its write
cat > "$R/ws/lockf.py" <<'EOF'
import fcntl, os, sys, time
with open("shared.txt", "r+") as f:
    fcntl.lockf(f, fcntl.LOCK_EX)
    if os.fork() == 0:
        with open("shared.txt", "r+") as g:
            t = time.time()
            fcntl.lockf(g, fcntl.LOCK_EX)
            waited = time.time() - t
            print("waited" if waited > 0.3 else "did not wait", g.read(),
                flush=True)
        os._exit(0)
    time.sleep(0.6)
    f.write("holder wrote")
    f.flush()
    fcntl.lockf(f, fcntl.LOCK_UN)
    os.wait()
EOF
printf '            ' > "$R/ws/shared.txt"
zmx_run python3 lockf.py >"$T/o" 2>"$T/e"
is "$(cat "$T/o")" "waited holder wrote" "lockf waiter blocks until the holder releases, then reads its write"

# mmap MAP_SHARED: one process writes, another reads, agentd gets it
cat > "$R/ws/mm.py" <<'EOF'
import mmap, os
with open("mapped.bin", "r+b") as f:
    m = mmap.mmap(f.fileno(), 16)
    m[0:5] = b"HELLO"
    m.flush()
    if os.fork() == 0:
        with open("mapped.bin", "rb") as g:
            print(g.read(5).decode(), flush=True)
        os._exit(0)
    os.wait()
    m.close()
EOF
printf '0123456789abcdef' > "$R/ws/mapped.bin"
zmx_run python3 mm.py >"$T/o" 2>"$T/e"
is "$(cat "$T/o")" "HELLO" "a MAP_SHARED write is seen by another process"
is "$(cat "$R/ws/mapped.bin")" "HELLO56789abcdef" "and reaches agentd after close"

# ends without the shim's help
zmx_run sh -c 'exec 3>dash.txt; echo hi >&3' >"$T/o" 2>"$T/e"
is "$(cat "$R/ws/dash.txt" 2>&1)" "hi" "dash: exec 3>f; echo hi >&3 (dash ends with _exit)"
zmx_run python3 -c 'import os; f = open("exit.txt", "w"); f.write("by _exit"); f.flush(); os._exit(0)' \
    >"$T/o" 2>"$T/e"
is "$(cat "$R/ws/exit.txt" 2>&1)" "by _exit" "python os._exit after a write"
zmx_run bash -c 'python3 -c "
import os, signal
f = open(\"killed.txt\", \"w\"); f.write(\"before the kill\"); f.flush()
os.kill(os.getpid(), signal.SIGKILL)"; true' >"$T/o" 2>"$T/e"
is "$(cat "$R/ws/killed.txt" 2>&1)" "before the kill" "kill -9 of the writer after its write"

# a file made by one process is there for the next, by path
zmx_run bash -c 'echo one > made.txt; stat -c %s made.txt; cat made.txt; mv made.txt moved.txt; cat moved.txt' \
    >"$T/o" 2>"$T/e"
is "$(cat "$T/o")" "$(printf '4\none\none')" "a new file: stat, cat and mv by other processes see it"
is "$(cat "$R/ws/moved.txt" 2>&1)" "one" "and agentd has it under its new name"
ok $([ ! -e "$R/ws/made.txt" ]; echo $?) "and not under the old one"

# fsync reports a write-back; the written bytes arrive
zmx_run python3 -c 'import os
f = open("synced.txt", "w"); f.write("synced"); f.flush(); os.fsync(f.fileno())
print(open("/proc/self/fd/0").name if False else "ok")' >"$T/o" 2>"$T/e"
is "$(cat "$R/ws/synced.txt" 2>&1)" "synced" "fsync'd content is on agentd"

# a process that changes its uid keeps working
# (nobody must be able to load the shim: not from a build under /root)
if command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$B/libzmx.so"
then
	echo 'for nobody' > "$R/ws/pub.txt"
	chmod 644 "$R/ws/pub.txt"
	zmx_run setpriv --reuid=65534 --regid=65534 --clear-groups cat pub.txt \
	    >"$T/o" 2>"$T/e"
	is "$(cat "$T/o")" "for nobody" "setpriv --reuid then cat: no abort, the file is read"
	zmx_run python3 -c 'import os
os.setgid(65534); os.setuid(65534)
print(open("pub.txt").read().strip())' >"$T/o" 2>"$T/e"
	is "$(cat "$T/o")" "for nobody" "python os.setuid then open"
else
	ok 0 "# SKIP setpriv is missing, or nobody cannot read $B/libzmx.so"
	ok 0 "# SKIP os.setuid: as above"
fi

# 64 threads, each making its first remote call
cat > "$R/ws/threads.py" <<'EOF'
import threading, os
res = []
def go(i):
    res.append(os.stat("pub.txt").st_size if os.path.exists("pub.txt") else -1)
ts = [threading.Thread(target=go, args=(i,)) for i in range(64)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(res), len(set(res)))
EOF
echo x > "$R/ws/pub.txt"
zmx_run python3 threads.py >"$T/o" 2>"$T/e"
is "$(cat "$T/o")" "64 1" "64 threads each make their first remote call"

# sqlite3 from two processes, in rollback-journal and in WAL mode
if command -v sqlite3 >/dev/null; then
	for mode in delete wal; do
		zmx_run bash -c '
			sq() { sqlite3 -cmd ".timeout 10000" "$@" >/dev/null; }
			sq '"$mode"'.db "pragma journal_mode='"$mode"'; create table t(x);"
			( for i in $(seq 1 60); do sq '"$mode"'.db "insert into t values($i)"; done ) &
			( for i in $(seq 61 120); do sq '"$mode"'.db "insert into t values($i)"; done ) &
			wait
			sqlite3 '"$mode"'.db "select count(*), sum(x) from t; pragma integrity_check;"
			sq '"$mode"'.db "insert into t values(1000)"
			sqlite3 '"$mode"'.db "select max(x) from t"' >"$T/o" 2>"$T/e"
		is "$(tr '\n' ' ' < "$T/o")" "120|7260 ok 1000 " \
		    "sqlite3 $mode mode, 2 writers x 60 rows: every row, integrity ok, a reader sees a commit"
		is "$(sqlite3 "$R/ws/$mode.db" 'select count(*) from t; pragma integrity_check;' 2>&1 | tr '\n' ' ')" \
		    "121 ok " "sqlite3 $mode mode: the database on agentd is whole"
	done
else
	ok 0 "# SKIP sqlite3 is not installed"
fi

# (a change made on agentd's side is seen at the next open: coherence.t)

# a program preloaded without zmx run gets a session of its own
printf 'remote hello\n' > "$R/ws/auto.txt"
(cd "$WS" && env ZMX_ENDPOINT="$EP" ZMX_CWD="$WS" ZMX_POLICY="remote $WS" \
    ZMX_COOKIE="$T/state/cookie" LD_PRELOAD="${_asan_rt:+$_asan_rt:}$B/libzmx.so" \
    bash -c 'cat auto.txt; echo by-auto > auto2.txt; cat auto2.txt; echo "$ZMX_SESSION_DIR"') \
    >"$T/o" 2>"$T/e"
like "$(cat "$T/o")" "^remote hello
by-auto
/dev/shm/zmx-session\." "LD_PRELOAD without zmx run: a session is started on first use"
for _ in $(seq 1 100); do [ -e "$R/ws/auto2.txt" ] && break; sleep 0.05; done
is "$(cat "$R/ws/auto2.txt" 2>&1)" "by-auto" "and its session writes back after the program ends"
sdir=$(sed -n 3p "$T/o")
for _ in $(seq 1 100); do [ -e "$sdir" ] || break; sleep 0.05; done
ok $([ ! -e "$sdir" ]; echo $?) "and ends, removing its directory"

# Openers of a file no one has open yet, at the same time: what each
# reads is the file. Their fetches overlap (a 10 ms delay each way keeps
# them in flight together); the cache once refreshed its copy in place for
# each later one, though agentd's version had not changed, truncating it
# under the reads of those that had it already. One process opens the
# file and reads it again and again while 5 more open it just after.
head -c $((16 << 20)) /dev/urandom > "$R/ws/shared.bin"
cat > "$R/ws/openers.py" <<'EOF'
import os, time
kids = []
for i in range(5):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.005 * (i + 1))
        with open("shared.bin", "rb") as f:
            f.read()
        os._exit(0)
    kids.append(pid)
fd = os.open("shared.bin", os.O_RDONLY)
first = os.pread(fd, 32 << 20, 0)
reads = bad = 0
end = time.time() + 1.5
while time.time() < end:
    reads += 1
    if os.pread(fd, 32 << 20, 0) != first:
        bad += 1
for pid in kids:
    os.waitpid(pid, 0)
print(len(first), "bad" if bad else "same", reads > 1)
EOF
pport=$(free_port)
"$B/tests/latproxy" "$pport" "${EP##*:}" 10000 2>"$T/latproxy.log" &
proxy=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$pport") 2>/dev/null && break
	sleep 0.05
done
EP_AGENTD=$EP
EP=tcp://127.0.0.1:$pport
zmx_run python3 openers.py >"$T/o" 2>"$T/e"
EP=$EP_AGENTD
kill "$proxy" 2>/dev/null
wait "$proxy" 2>/dev/null
is "$(cat "$T/o")" "$((16 << 20)) same True" \
    "a 16 MiB file read over and over while 5 others open it: never changes"

local_untouched
done_testing
