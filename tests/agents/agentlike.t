#!/bin/bash
# Programs that behave like coding agents (issue 9), scripted, no network:
# tests/agents/agentlike.py (pathlib, open, os.walk, glob, subprocess,
# threads, os.replace) and tests/agents/agentlike_node.mjs (fs/promises,
# fs sync calls, recursive readdir, child_process, worker_threads), each
# run under `zmx run` with remote commands, through the same scenarios as
# the real Claude Code: edit a bug and run the tests, write and build a
# program and commit it, search a tree only the remote side has, a command
# killed by the program's timeout, background commands, a file changed
# remotely between two steps, threads doing file I/O. Each scenario asserts
# what the program saw and the remote side's final state; the local
# workspace stays untouched. agentd runs in its own mount, UTS and PID
# namespace; the programs live in $T/local-only, which agentd cannot see.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
NODE=/usr/bin/node
export LC_ALL=C ZMX_REMOTE_COMMANDS=1 ZMX_AGENTD_PIDNS=1
[ -x "$B/zmx-exec" ] || skip_all "no $B/zmx-exec"
[ -x "$PY" ] || skip_all "no $PY (the tests' own helper)"
for tool in make gcc git grep find mkfifo; do
	command -v $tool > /dev/null || skip_all "no $tool"
done
here=$(cd "$(dirname "$0")" && pwd)

agents="py"
if [ -x "$NODE" ]; then
	agents="$agents node"
fi

SYNC=$T/sync

# ---- the remote side's workspace -----------------------------------------

# a: a C project with a bug its tests find
setup_edit() {
	local d=$R/ws/$1/edit
	mkdir -p "$d"
	printf 'int add(int a, int b);\nint mul(int a, int b);\n' > "$d/calc.h"
	cat > "$d/calc.c" <<'C'
#include "calc.h"
int add(int a, int b) { return a - b; }
int mul(int a, int b) { return a * b; }
C
	cat > "$d/test_calc.c" <<'C'
#include <stdio.h>
#include "calc.h"
int main(void)
{
	int bad = 0;
	if (add(2, 3) != 5) { printf("FAIL add(2,3)=%d\n", add(2, 3)); bad = 1; }
	if (mul(2, 3) != 6) { printf("FAIL mul(2,3)=%d\n", mul(2, 3)); bad = 1; }
	if (!bad) printf("all tests passed\n");
	return bad;
}
C
	printf 'test: test_calc\n\t./test_calc\n\t@echo "ran on $$(uname -n)"\ntest_calc: test_calc.c calc.c calc.h\n\tcc -o $@ test_calc.c calc.c\n' \
	    > "$d/Makefile"
}

# c: 2,000 files in 100 directories, every 7th holding the needle
$PY - "$R/ws/tree" <<'P'
import os, sys
top = sys.argv[1]
k = 0
for d in range(20):
    for s in range(5):
        p = os.path.join(top, "d%02d" % d, "s%d" % s)
        os.makedirs(p)
        for _ in range(20):
            ext = (".py", ".c", ".txt")[k % 3]
            with open(os.path.join(p, "f%04d%s" % (k, ext)), "w") as f:
                f.write("file %d\n" % k + ("NEEDLE_zmx here\n" if k % 7 == 3 else ""))
            k += 1
P

for a in $agents; do
	setup_edit $a
	mkdir -p "$R/ws/$a/build" "$R/ws/$a/timeout" "$R/ws/$a/bg" \
	    "$R/ws/$a/fresh" "$R/ws/$a/threads" "$SYNC/$a"
	printf 'value=one\n' > "$R/ws/$a/fresh/config.txt"
	printf 'to be removed remotely\n' > "$R/ws/$a/fresh/gone.txt"
	head -c 30000 /dev/urandom | base64 > "$R/ws/$a/threads/shared.txt"
done

zmx_start_agentd --linger 3
# the programs only the local side has (agentd's namespace hides $T/local-only)
cp "$here/agentlike.py" "$here/agentlike_node.mjs" \
    "$here/agentlike_project.json" "$T/local-only/" ||
    echo "Bail out! cannot copy the programs to $T/local-only"

# agent NAME SCENARIO DIR: the program under zmx run, cwd the workspace
agent() {
	local a=$1
	shift
	case $a in
	py) AGENTLIKE_SYNC=$SYNC/$a zmx_run "$PY" "$T/local-only/agentlike.py" "$@" ;;
	node) AGENTLIKE_SYNC=$SYNC/$a zmx_run "$NODE" "$T/local-only/agentlike_node.mjs" "$@" ;;
	esac
}

# field KEY: the value the program printed as "KEY: value" in $out
field() {
	printf '%s\n' "$out" | sed -n "s/^$1: //p"
}

# the last lines of the program's output, for a failure's diagnosis
show() {
	printf '%s\n' "$out" | tail -20 | sed 's/^/#   | /'
}

# ran_to_end SCENARIO: the program said it got to its end; if not, what
# it printed last
ran_to_end() {
	if [ "$(field end)" = "$1" ]; then
		ok 0 "$a $1: ran to its end"
	else
		ok 1 "$a $1: ran to its end"
		show
	fi
}

# audit_mark, then audit_commands: the commands agentd ran (its audit
# log) since the mark, one "ARGV STATUS" a line (ARGV comma-separated,
# %-escaped as the log has it; STATUS exit=N or signal=NAME)
audit_mark() {
	_audit_at=$(wc -l < "$T/audit.log")
}
audit_commands() {
	tail -n +$((_audit_at + 1)) "$T/audit.log" |
	    sed -n 's/.* op=command path=[^ ]* argv=\([^ ]*\) \([a-z]*=[A-Z0-9]*\) .*/\1 \2/p'
}

# wait_file PATH [SECONDS]
wait_file() {
	for _ in $(seq 1 $((${2:-30} * 20))); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# what a list of paths on the remote side hashes to, as the programs hash
# theirs: "COUNT MD5" of the sorted lines
count_md5() {
	local s
	s=$(sort)
	if [ -z "$s" ]; then
		printf '0 %s' "$(printf '' | md5sum | cut -d' ' -f1)"
	else
		printf '%s %s' "$(printf '%s\n' "$s" | wc -l)" \
		    "$(printf '%s\n' "$s" | md5sum | cut -d' ' -f1)"
	fi
}

(cd "$R/ws" && find tree -type f) > "$T/want.files"
# "N files D dirs MD5", as the programs print their walk
set -- $(count_md5 < "$T/want.files")
want_walk="$1 files $(cd "$R/ws" && find tree -mindepth 1 -type d | wc -l) dirs $2"
set --
want_py=$(grep '\.py$' "$T/want.files" | count_md5)
want_c=$(grep '\.c$' "$T/want.files" | count_md5)
want_hits=$( (cd "$R/ws" && grep -rl NEEDLE_zmx tree) | count_md5)

for a in $agents; do
	diag "---- $a"

	# ---- a: read, edit with a temp file and rename, run the tests --------

	audit_mark
	out=$(agent $a edit $a/edit 2>&1)
	is "$(field cwd)" "$WS/$a/edit" "$a edit: the program's cwd is the remote project"
	is "$(field bug_lines)" "[2]" "$a edit: it read the remote-only source and found the bug"
	is "$(field before_rc) $(field before_fail)" '2 ["FAIL add(2,3)=-1"]' \
	    "$a edit: make test fails first (status 2, the failing check)"
	is "$(field edited) $(field reread)" 'true ["int add(int a, int b) { return a + b; }"]' \
	    "$a edit: temp file, fsync, rename over the original; read back fixed"
	is "$(field tmp_left)" "[]" "$a edit: no temp file left in its listing"
	is "$(field after_rc) $(field after_out)" '0 ["all tests passed","ran on zmx-remote"]' \
	    "$a edit: make test passes, run on the remote side"
	is "$(grep -c 'a + b' "$R/ws/$a/edit/calc.c" 2>&1) $(grep -c 'a - b' "$R/ws/$a/edit/calc.c" 2>&1)" \
	    "1 0" "$a edit: the remote calc.c is fixed"
	is "$(cd "$R/ws/$a/edit" && ls -A | tr '\n' ' ')" \
	    "Makefile calc.c calc.h test_calc test_calc.c " \
	    "$a edit: remotely, the project and the built test, no temp file"
	is "$(audit_commands | tr '\n' '|')" "make,test exit=2|make,test exit=0|" \
	    "$a edit: agentd ran make test twice: it failed, then passed"
	ran_to_end edit

	# ---- b: write files and a Makefile, build, run, git commit ----------

	audit_mark
	out=$(agent $a build $a/build 2>&1)
	is "$(field wrote)" '[".gitignore","Makefile","check.sh","greet.c","greet.h","main.c"]' \
	    "$a build: the files it wrote are listed"
	is "$(field make_rc) $(field make_cmds) $(field built)" '0 ["gcc","gcc","gcc"] true' \
	    "$a build: make runs gcc three times; the program is executable"
	is "$(field run)" "0 hello from zmx-remote, 6*7=42" \
	    "$a build: the built program runs on the remote side"
	is "$(field script)" "0 check on zmx-remote: 30 bytes" \
	    "$a build: a script it wrote with mode 755 runs remotely, running the program"
	is "$(stat -c %a "$R/ws/$a/build/check.sh" 2>&1)" "755" "$a build: the script's mode, remotely"
	is "$(field git_rcs)" "[0,0,0]" "$a build: git init, add, commit succeed"
	is "$(field git_log) | $(field git_status) | $(field git_dir)" \
	    "add hello program ($a) |  | true" "$a build: git log shows the commit, status is clean"
	is "$(zmx_remote git -C "$a/build" log --format='%an %s' 2>&1)" \
	    "Agent Like add hello program ($a)" "$a build: git log on the remote side: the commit"
	is "$(zmx_remote git -C "$a/build" ls-files 2>&1 | tr '\n' ' ')" \
	    ".gitignore Makefile check.sh greet.c greet.h main.c " "$a build: the committed files, remotely"
	is "$(zmx_remote sh -c "cd $a/build && ./hello" 2>&1)" "hello from zmx-remote, 6*7=42" \
	    "$a build: the binary is on the remote side and runs there"
	is "$(od -An -c -N4 "$R/ws/$a/build/hello" 2>&1 | tr -d ' ')" '177ELF' \
	    "$a build: an ELF made by the remote gcc"
	like "$(audit_commands | tr '\n' '|')" \
	    "^make exit=0\|\./hello exit=0\|\./check\.sh exit=0\|git,init,-q exit=0\|git,add,-A exit=0\|git,.*,commit,.* exit=0\|.*git.*log.* exit=0\|.*git.*status.* exit=0\|\$" \
	    "$a build: agentd ran make, the program, the script and git"
	ran_to_end build

	# ---- c: search a tree only the remote side has ------------------------

	audit_mark
	out=$(agent $a search . 2>&1)
	is "$(field walk)" "$want_walk" "$a search: in-process walk finds the remote tree (files, dirs, names)"
	is "$(field glob)" "$want_py" "$a search: glob **/*.py as the remote side has it"
	is "$(field rglob)" "$want_c" "$a search: recursive *.c as the remote side has it"
	is "$(field grep_inproc)" "$want_hits" "$a search: reading every file in-process finds the needles"
	is "$(field grep_cmd)" "0 $want_hits" "$a search: grep -rl as a command, remotely"
	is "$(field find_cmd)" "0 $want_py" "$a search: find -name as a command, remotely"
	is "$(field agree)" "true" "$a search: the commands and the in-process search agree"
	like "$(audit_commands | tr '\n' '|')" "^grep,-rl,NEEDLE_zmx,tree exit=0\|/bin/sh,-c,find%20tree%20.* exit=0\|\$" \
	    "$a search: agentd ran grep and find, nothing else"
	ran_to_end search

	# ---- d: a command that runs too long is killed by the timeout ------

	audit_mark
	agent $a timeout $a/timeout > "$T/$a.timeout.out" 2>&1 &
	runner=$!
	wait_file "$SYNC/$a/timeout-running" 30
	is "$(remote_count '^sleep 6[123] ')" "3" \
	    "$a timeout: the three long commands run on the remote side"
	wait_file "$SYNC/$a/timeout-killed" 30
	# the sleeps and the shells that started them
	wait_gone 'sleep 6[123]'
	ok $? "$a timeout: once the program killed them, no remote process is left"
	touch "$SYNC/$a/timeout-checked"
	wait $runner
	out=$(cat "$T/$a.timeout.out")
	case $a in
	py)
		like "$(field run)" "^TimeoutExpired [4-9] partial$" \
		    "$a timeout: subprocess.run(timeout=4) raised TimeoutExpired with the output so far"
		is "$(field wait)" "TimeoutExpired rc -9" "$a timeout: Popen.wait(timeout=) then kill(): died of SIGKILL"
		is "$(field group)" "TimeoutExpired rc -15" "$a timeout: communicate(timeout=) then killpg(SIGTERM)"
		;;
	node)
		like "$(field exec)" "^killed=true signal=SIGTERM [4-9] partial$" \
		    "$a timeout: exec({timeout}) killed the command with SIGTERM, the output so far"
		is "$(field execFile)" "killed=true signal=SIGKILL" "$a timeout: execFile({timeout, killSignal}) with SIGKILL"
		is "$(field spawn)" "exit null SIGKILL" \
		    "$a timeout: spawn({detached}), its group killed by the program's timer"
		;;
	esac
	is "$(field elapsed_ok)" "true" "$a timeout: the program waited for its timeouts only"
	is "$(audit_commands | sed 's/.* //' | sort | tr '\n' ' ')" "signal=KILL signal=KILL signal=TERM " \
	    "$a timeout: agentd's log: the three commands died of the signals sent"
	ran_to_end timeout

	# ---- e: background commands, collected later ----------------------------

	audit_mark
	out=$(agent $a bg $a/bg 2>&1)
	is "$(field popen_returned_early) $(field early_exists)" "true false" \
	    "$a bg: the command started in the background; its file is not there yet"
	is "$(field bg_file)" "bg-done zmx-remote" "$a bg: its output file appeared, written remotely"
	is "$(field collected)" "0 collected" "$a bg: its status and stdout collected later"
	is "$(field detached)" "0 true" "$a bg: a shell backgrounding a job returns at once"
	is "$(field bg2_file)" "bg2 zmx-remote" "$a bg: the detached job's file appeared later"
	is "$(cat "$R/ws/$a/bg/bg.out" "$R/ws/$a/bg/bg2.out" "$R/ws/$a/bg/notes.txt" 2>&1 | tr '\n' '|')" \
	    "bg-done zmx-remote|bg2 zmx-remote|working while the command runs|" \
	    "$a bg: the remote side has both outputs and the program's notes"
	tdir=$(field task_dir)
	is "$(field task_seen)" '["start zmx-remote|","start zmx-remote|end|"]' \
	    "$a bg: a task's output file under /tmp, the command's stdout, read while it runs"
	is "$(field task_rc) $(field task_cwd)" "0 $WS/$a/bg" \
	    "$a bg: its status, and the cwd it left in a file under /tmp"
	is "$(cat "$R$tdir/task.output" "$R$tdir/cwd" 2>&1 | tr '\n' '|')" \
	    "start zmx-remote|end|$WS/$a/bg|" "$a bg: the task's files are in the remote /tmp"
	ok $([ -n "$tdir" ] && [ ! -e "$tdir" ]; echo $?) "$a bg: and not in the local /tmp"
	is "$(audit_commands | sed 's/.* //' | tr '\n' ' ')" "exit=0 exit=0 exit=0 " \
	    "$a bg: agentd ran the three commands"
	ran_to_end bg

	# ---- f: a file changed remotely between two steps is read fresh -----

	rm -f "$T/$a.fifo"
	mkfifo "$T/$a.fifo"
	exec 7<> "$T/$a.fifo"
	agent $a fresh $a/fresh < "$T/$a.fifo" > "$T/$a.fresh.out" 2>&1 &
	runner=$!
	if wait_file "$SYNC/$a/fresh-read" 30; then
		zmx_remote sh -c "printf 'value=two (changed remotely)\n' > $a/fresh/config.txt;
		    echo 'made remotely' > $a/fresh/added.txt; rm $a/fresh/gone.txt"
	fi
	# the next turn comes a model's answer later; libzmx(7) allows a window
	# of agentd's reading the change's inotify event before it shows
	sleep 0.3
	echo "next turn" >&7
	wait $runner
	exec 7>&-
	out=$(cat "$T/$a.fresh.out")
	is "$(field first) | $(field list1) | $(field size1)" \
	    'value=one | ["config.txt","gone.txt"] | 10' "$a fresh: the first step's view"
	is "$(field told)" "next turn" "$a fresh: the program waited for the next turn"
	is "$(field second)" "value=two (changed remotely)" "$a fresh: the changed file is read fresh"
	is "$(field list2) | $(field gone_exists)" '["added.txt","config.txt"] | false' \
	    "$a fresh: the listing shows the remote creation and removal"
	is "$(field size2)" "$(printf 'value=two (changed remotely)\n' | wc -c)" \
	    "$a fresh: stat sees the new size"
	is "$(field added)" "made remotely" "$a fresh: a file made remotely is read"
	is "$(cat "$R/ws/$a/fresh/config.txt" 2>&1)" "value=three (agent)" \
	    "$a fresh: the program's own write after that landed remotely"
	ran_to_end fresh

	# ---- g: threads doing file I/O next to the main thread ---------------

	out=$(agent $a threads $a/threads 2>&1)
	is "$(field verified) $(field shared_same) $(field log_lines) $(field files)" \
	    "125 125 125 125" "$a threads: 5 threads x 25 files written, read back, shared file, log"
	bad=$($PY - "$R/ws/$a/threads" <<'P'
import os, sys
d = sys.argv[1]
bad = []
for name in ["main", "t0", "t1", "t2", "t3"]:
    for i in range(25):
        p = os.path.join(d, name, "%02d.txt" % i)
        want = ("%s file %d\n" % (name, i)) * (i + 1)
        try:
            if open(p).read() != want:
                bad.append(p + " differs")
        except OSError as e:
            bad.append(str(e))
try:
    log = sorted(open(os.path.join(d, "log.txt")).read().splitlines())
except OSError as e:
    log = [str(e)]
want = sorted("%s %d" % (n, i) for n in ["main", "t0", "t1", "t2", "t3"] for i in range(25))
if log != want:
    bad.append("log.txt: %d lines, %d expected ones" % (len(log), len(set(log) & set(want))))
print("\n".join(bad[:5]))
P
) || bad="$bad (the check failed)"
	is "$bad" "" "$a threads: every file and every log line is on the remote side"
	ran_to_end threads
done

[ -x "$NODE" ] || ok 0 "# SKIP no $NODE: the node program did not run"
ok $([ ! -e "$WS/tree" ] && [ ! -e "$WS/py" ]; echo $?) \
    "the tree and the projects exist only on the remote side"
local_untouched
done_testing
