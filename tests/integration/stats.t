#!/bin/bash
# zmx run --stats (or ZMX_STATS=1) counts the session's round trips
# honestly, every process included, and the counts show the design's
# promises: opening and reading a small remote file is one round trip, and
# `ls -l` gets every entry's attributes with the listing, not a stat each.
. "$(dirname "$0")/../lib.sh"

printf 'alpha\n' > "$R/ws/a.txt"
printf 'beta\n' > "$R/ws/b.txt"
mkdir -p "$R/ws/one" "$R/ws/fifty"
printf 'only\n' > "$R/ws/one/f"
for i in $(seq 1 50); do
	printf '%*s\n' "$i" x > "$R/ws/fifty/f$i"
done
zmx_start_agentd

export ZMX_STATS=1

# stats_run OUT ERR PROGRAM ARGS...: runs it under the portal with stdout
# to OUT and stderr to ERR
stats_run() {
	local o=$1 e=$2
	shift 2
	zmx_run "$@" >"$o" 2>"$e"
}

# rtt ERR: the round trips on the single stats line in ERR, or "" when
# there is not exactly one such line
rtt() {
	[ "$(grep -c '^zmx: stats:' "$1")" = 1 ] || return 0
	sed -n 's/^zmx: stats: session pid [0-9]*: \([0-9]*\) round trips;.*/\1/p' "$1"
}

stats_run "$T/o" "$T/e" cat a.txt
is "$(cat "$T/o")" "alpha" "cat printed the remote file"
like "$(cat "$T/e")" "^zmx: stats: session pid [0-9]+: [0-9]+ round trips;" \
    "ZMX_STATS=1 prints the session's stats line on stderr"
cat1=$(rtt "$T/e")
ok $([ -n "$cat1" ]; echo $?) "exactly one stats line for the session"

stats_run "$T/o0" "$T/e0" true
base=$(rtt "$T/e0")
ok $([ -n "$base" ]; echo $?) "a session whose program touches nothing prints its stats line too"
is "$((cat1 - ${base:-0}))" 1 \
    "cat of a small file costs 1 round trip beyond start-up ($base)"

stats_run "$T/o" "$T/e" cat a.txt b.txt
is "$(cat "$T/o")" "$(printf 'alpha\nbeta')" "cat printed both remote files"
cat2=$(rtt "$T/e")
is "$((${cat2:-0} - ${cat1:-0}))" 1 "a second file costs exactly one more round trip"

stats_run "$T/o" "$T/e" ls -l --time-style=+%s one
is "$(cat "$T/o")" "$(cd "$R/ws" && ls -l --time-style=+%s one)" \
    "ls -l on 1 file shows the remote attributes"
ls1=$(rtt "$T/e")

stats_run "$T/o" "$T/e" ls -l --time-style=+%s fifty
is "$(cat "$T/o")" "$(cd "$R/ws" && ls -l --time-style=+%s fifty)" \
    "ls -l on 50 files shows every remote file's attributes"
ls50=$(rtt "$T/e")
ok $([ -n "$ls1" ] && [ -n "$ls50" ] && [ "$ls50" -le $((ls1 + 1)) ]; echo $?) \
    "ls -l on 50 files takes no round trip per file ($ls50 vs $ls1 for 1 file)"

# A write is counted too, and lands remotely.
stats_run "$T/o" "$T/e" cp a.txt copied.txt
is "$(cat "$T/o")" "" "cp prints nothing"
like "$(cat "$T/e")" "^zmx: stats: session pid [0-9]+: [0-9]+ round trips; .*put [0-9]+" \
    "cp's stats count the put that wrote the file back"
is "$(cat "$R/ws/copied.txt" 2>&1)" "alpha" "the copy is on the remote side"

# Every process counts: bash's own setenv once hid ZMX_STATS from the
# shim, and each process printed its own line.
stats_run "$T/o" "$T/e" bash -c 'cat a.txt; sh -c "cat b.txt"; true'
is "$(cat "$T/o")" "$(printf 'alpha\nbeta')" "bash, sh and cat printed both files"
sh2=$(rtt "$T/e")
ok $([ -n "$sh2" ] && [ "$sh2" -ge 2 ]; echo $?) \
    "one stats line for bash, sh and two cats, counting both opens ($sh2)"
like "$(cat "$T/e")" " open [2-9]" "the session counted both opens"

local_untouched
done_testing
