#!/bin/bash
# A session's caches stay true without a timeout: agentd tells it (INVAL)
# of every change in what it looked at, whoever made it, so the next open,
# stat or ls sees a remote change at once; and they save round trips: a
# tree costs about one per directory the first time, none the second.
. "$(dirname "$0")/../lib.sh"

echo one > "$R/ws/f"
echo keep > "$R/ws/g"
mkdir -p "$R/ws/dir" "$R/ws/tree"
echo old > "$R/ws/dir/gone"
for d in $(seq 1 50); do
	mkdir -p "$R/ws/tree/d$d"
	for i in 1 2 3; do echo "$d $i" > "$R/ws/tree/d$d/f$i"; done
done
zmx_start_agentd

# The program reads, says so on a local fifo, and reads again once the
# test, having changed the remote side from agentd's namespace, says go
# (and half a second later: the INVAL travels meanwhile, as it would
# while an agent thinks; the session has no timeout that could help).
mkfifo "$T/ready" "$T/go"

# run_paused SCRIPT: SCRIPT runs under the portal; "pause" in it waits
# for the test; stdout to $T/out
run_paused() {
	zmx_run bash -c "pause() { echo x > '$T/ready'; read -r _ < '$T/go'; sleep 0.5; }
$1" > "$T/out" 2> "$T/err" &
	RUN_PID=$!
	read -r _ < "$T/ready"
}
go() {
	echo go > "$T/go"
	wait "$RUN_PID"
}

# ---- agentd's own word ---------------------------------------------------

# zmxreq looks at dir, then waits while the test changes it: the INVALs
# come unasked, before the reply to the stat that follows
( sleep 0.5; echo new > "$R/ws/dir/made"; echo changed > "$R/ws/dir/gone" ) &
out=$("$B/tests/zmxreq" -e "$EP" --invals readdir "$WS/dir" :: wait 1500 \
    :: lstat "$WS/dir/made")
like "$out" "INVAL $WS/dir/made 0x1" "agentd tells of a name made in a directory the session listed"
like "$out" "INVAL $WS/dir/gone 0x0" "and of a file changed there"
like "$(printf '%s\n' "$out" | tail -1)" "^ATTR mode=0100644 size=4" \
    "the INVALs come before the reply to the next request"
echo old > "$R/ws/dir/gone"
rm -f "$R/ws/dir/made"

# over --max-watches-per-session, "trust nothing"
zmx_stop_agentd
zmx_start_agentd --max-watches-per-session 3
out=$("$B/tests/zmxreq" -e "$EP" --invals readdir "$WS/tree/d1" :: \
    readdir "$WS/tree/d2" :: readdir "$WS/tree/d3" 2>&1)
like "$out" "INVAL / 0x0" "past the watch limit agentd says INVAL / (trust nothing)"
like "$(printf '%s\n' "$out" | tail -1)" "^ENTRIES f1 f2 f3" \
    "and still answers"
zmx_stop_agentd
zmx_start_agentd

# ---- the session sees remote changes at once ------------------------------

run_paused 'cat f; stat -c %s f; pause; cat f; stat -c %s f'
echo "two, longer" > "$R/ws/f"
go
is "$(cat "$T/out")" "$(printf 'one\n4\ntwo, longer\n12')" \
    "a file changed remotely: the next open and stat see it at once"

run_paused 'ls dir; stat -c %s dir/new 2>&1; pause; ls dir; stat -c %s dir/new; cat dir/new'
echo fresh > "$R/ws/dir/new"
go
is "$(cat "$T/out")" "$(printf 'gone\nstat: cannot statx '"'"'dir/new'"'"': No such file or directory\ngone\nnew\n6\nfresh')" \
    "a file made remotely: ls and stat see it at once"

run_paused 'cat dir/gone; ls dir; pause; ls dir; cat dir/gone 2>&1; stat dir/gone 2>&1 | head -1'
rm "$R/ws/dir/gone"
go
is "$(cat "$T/out")" "old
gone
new
new
cat: dir/gone: No such file or directory
stat: cannot statx 'dir/gone': No such file or directory" \
    "a file removed remotely: gone for ls, open and stat at once"

# an access() answered before is not answered again once the mode changed
printf '#!/bin/sh\n' > "$R/ws/s"
chmod 755 "$R/ws/s"
acc='import os; print(os.access("s", os.X_OK), os.access("s", os.R_OK))'
run_paused "python3 -c '$acc'; python3 -c '$acc'; pause; python3 -c '$acc'"
chmod 644 "$R/ws/s"
go
is "$(cat "$T/out")" "$(printf 'True True\nTrue True\nFalse True')" \
    "access() sees a mode changed remotely at once"

# another session's change, and this session's own
run_paused 'cat g; stat -c %s g; pause; cat g; stat -c %s g'
zmx_run bash -c 'echo "from another session" > g' 2>"$T/err2"
go
is "$(cat "$T/out")" "$(printf 'keep\n5\nfrom another session\n21')" \
    "a change by another session is seen at once"
zmx_run bash -c 'cat g >/dev/null; echo mine > g; cat g; stat -c %s g; ls g' \
    > "$T/out" 2>&1
is "$(cat "$T/out")" "$(printf 'mine\n5\ng')" "and the session's own at once"
# a stat while the write-back of a close is under way waits for the next
# one, which may have nothing to do: it must still be answered
ZMX_TIMEOUT_MS=3000 zmx_run bash -c 'for i in $(seq 1 40); do
	echo "mine $i" > g; cat g >/dev/null; stat -c %s g >/dev/null || exit 1
	done; cat g' > "$T/out" 2>&1
is "$(cat "$T/out")" "mine 40" "40 writes, each read and stat at once: none waits for ever"

# ---- round trips -----------------------------------------------------------

export ZMX_STATS=1
rtt() {
	sed -n 's/^zmx: stats: session pid [0-9]*: \([0-9]*\) round trips;.*/\1/p' "$1"
}
zmx_run true 2>"$T/e0"
base=$(rtt "$T/e0")
zmx_run bash -c 'ls -lR tree' >"$T/o1" 2>"$T/e1"
zmx_run bash -c 'ls -lR tree; ls -lR tree >/dev/null' >"$T/o2" 2>"$T/e2"
one=$(($(rtt "$T/e1") - base))
two=$(($(rtt "$T/e2") - base))
is "$(cat "$T/o1")" "$(cd "$R/ws" && ls -lR tree)" "ls -lR of 51 directories shows the remote tree"
ok $([ "$one" -le 55 ]; echo $?) "ls -lR of 51 directories: about one round trip each ($one)"
is "$((two - one))" 0 "a second ls -lR in the same session: no round trip"

zmx_run bash -c 'find tree -ls' >"$T/o1" 2>"$T/e1"
zmx_run bash -c 'find tree -ls; find tree -ls >/dev/null' >"$T/o2" 2>"$T/e2"
one=$(($(rtt "$T/e1") - base))
two=$(($(rtt "$T/e2") - base))
ok $([ "$one" -le 55 ]; echo $?) "find -ls of 51 directories: about one round trip each ($one)"
# find goes back to where it started with fchdir, which asks agentd
# for the physical path (REALPATH: not cached)
ok $([ "$((two - one))" -le 1 ]; echo $?) \
    "a second find -ls: no round trip but its fchdir's ($((two - one)))"

if command -v git >/dev/null; then
	cp -a "$R/ws/tree" "$R/ws/repo"
	(cd "$R/ws/repo" && git init -q && git add -A &&
	    git -c user.email=t@t -c user.name=t commit -qm init &&
	    git gc -q && git status >/dev/null)
	zmx_run bash -c 'git -C repo status --short' >"$T/o1" 2>"$T/e1"
	zmx_run bash -c 'git -C repo status --short; git -C repo status --short' \
	    >"$T/o2" 2>"$T/e2"
	one=$(($(rtt "$T/e1") - base))
	two=$(($(rtt "$T/e2") - base))
	is "$(cat "$T/o1")" "" "git status under the portal: clean"
	ok $([ "$one" -le 100 ]; echo $?) \
	    "a cold git status of 51 directories and 150 files: $one round trips, not one a file"
	ok $([ $((two - one)) -le $((one / 3)) ]; echo $?) \
	    "a second git status: $((two - one)) round trips, for what git changes (index.lock)"
	diag "git status: $one round trips cold, $((two - one)) more for a second"
fi
unset ZMX_STATS

# ---- rsync -aH --delete twice -----------------------------------------------

if command -v rsync >/dev/null; then
	mkdir -p "$R/ws/src/sub"
	echo a > "$R/ws/src/a"
	echo b > "$R/ws/src/sub/b"
	ln "$R/ws/src/a" "$R/ws/src/sub/hard"
	ln -s a "$R/ws/src/link"
	mkdir -p "$R/ws/dst"
	echo stale > "$R/ws/dst/stale"
	zmx_run rsync -aH --delete src/ dst/ >"$T/o1" 2>&1
	ok $? "rsync -aH --delete src/ dst/ inside the workspace"
	zmx_run rsync -aHi --delete src/ dst/ >"$T/o2" 2>&1
	ok $? "rsync again"
	is "$(cat "$T/o2")" "" "the second rsync transfers nothing"
	is "$(cd "$R/ws" && find dst -printf '%P %y %s\n' | sort)" \
	    "$(cd "$R/ws" && find src -printf '%P %y %s\n' | sort)" \
	    "dst is src, stale file deleted"
	is "$(stat -c %i "$R/ws/dst/a")" "$(stat -c %i "$R/ws/dst/sub/hard")" \
	    "the hard link is kept"
else
	ok 0 "# SKIP rsync is not installed (scripts/install-deps)"
fi

local_untouched
done_testing
