#!/bin/bash
# The real Claude Code, driven by a mock of the Anthropic API
# (tests/agents/mock_api.py), does real work through the portal (issue 9):
# both the current native (Bun) build and 2.1.112, the last node-based one,
# as scripts/install-deps installs them under /opt/zmx-agents.
#
# Each scenario is a script of assistant turns with tool calls; it is run
# first without zmx, in a plain local directory (proving the script and
# the mock), then under `zmx run` against agentd in its own mount, UTS and
# PID namespace, where the workspace exists only on agentd's side, the
# agent's home and its install are hidden from agentd, and commands run
# remotely. Each asserts the workspace's final state on the side that holds
# it and the tool results the agent sent back to the mock.
#
# Everything runs in a network namespace that has only loopback: the test
# re-executes itself under `unshare --net`.
#
# ZMX_AGENTS_DIR (default /opt/zmx-agents) is where the builds are;
# ZMX_CLAUDE_BUILDS (default "native node") which to run;
# ZMX_CLAUDE_MODES (default "local zmx") and ZMX_CLAUDE_SCENARIOS
# (default "a b c d e f g") narrow a run down when looking into a failure;
# ZMX_CLAUDE_NODE_DIRECT=1 starts the node build as `node cli.js`.

if [ "${ZMX_CLAUDE_NETNS:-0}" != 1 ]; then
	if ! unshare --net true 2>/dev/null; then
		echo "1..0 # SKIP cannot make a network namespace (unshare --net needs root)"
		exit 0
	fi
	command -v ip > /dev/null ||
		{ echo "1..0 # SKIP no ip (iproute2) to bring loopback up"; exit 0; }
	ZMX_CLAUDE_NETNS=1 exec unshare --net -- /bin/bash -c \
	    'ip link set lo up && exec /bin/bash "$0" "$@"' "$0" "$@"
fi

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"
[ -x "$B/zmx-exec" ] || skip_all "no $B/zmx-exec"
MOCK=$(cd "$(dirname "$0")" && pwd)/mock_api.py
AGENTS=${ZMX_AGENTS_DIR:-/opt/zmx-agents}
export LC_ALL=C ZMX_REMOTE_COMMANDS=1 ZMX_AGENTD_PIDNS=1
# seconds one claude run may take (they take 1 to 6); after two runs of a
# build in a mode time out, its other scenarios there are not run, so a
# hanging agent costs the suite minutes, not half an hour
CLAUDE_LIMIT=${ZMX_CLAUDE_LIMIT:-60}

# ---- the builds ---------------------------------------------------------------

# find_claude BUILD: sets CLAUDE to the command that runs the build: npm's
# launcher node_modules/.bin/claude, as a user types `claude` (for the
# node build a script whose #!/usr/bin/env node must start node here, not
# on agentd's side, where neither the script nor the install exist). For
# the native build without its postinstall, the launcher is a stub: then
# the platform package's binary. CLAUDE is empty, with the reason in
# $why, if the build is not installed.
find_claude() {
	local d=$AGENTS/claude-$1/node_modules f
	CLAUDE=() why=
	LAUNCHER=$d/.bin/claude
	case $1 in
	native)
		for f in "$LAUNCHER" "$d/@anthropic-ai/claude-code-linux-x64/claude"; do
			if [ -x "$f" ] && [ "$(head -c 4 "$f")" = $'\x7fELF' ]; then
				CLAUDE=("$f")
				return
			fi
		done
		;;
	node)
		if ! command -v node > /dev/null; then
			why="no node"
			return
		fi
		f=$d/@anthropic-ai/claude-code/cli.js
		# ZMX_CLAUDE_NODE_DIRECT=1: node cli.js, past the launcher
		if [ "${ZMX_CLAUDE_NODE_DIRECT:-0}" = 1 ] && [ -f "$f" ]; then
			CLAUDE=("$(command -v node)" "$f")
			return
		fi
		[ -f "$f" ] && [ -x "$LAUNCHER" ] && { CLAUDE=("$LAUNCHER"); return; }
		;;
	esac
	why="Claude Code ($1) is not installed in $AGENTS/claude-$1: run scripts/install-deps"
}

# ---- running one scenario -------------------------------------------------------

mkdir -p "$T/logs" "$T/plain" "$T/local-only"

# Per run: MODE (local or zmx), BUILD, SCEN; the paths the agent uses (D,
# its scenario directory) and where they really are (SD); side_sh runs a
# shell command where the workspace is; HOST is that side's hostname.
set_mode() {	# set_mode MODE BUILD SCEN
	MODE=$1 BUILD=$2 SCEN=$3
	if [ "$MODE" = zmx ]; then
		AWS=$WS SIDE=$R/ws HOST=zmx-remote
	else
		AWS=$T/plain SIDE=$T/plain HOST=$(hostname)
	fi
	D=$AWS/$BUILD/$SCEN SD=$SIDE/$BUILD/$SCEN
	LOG=$T/logs/$MODE-$BUILD-$SCEN.jsonl
	OUT=$T/logs/$MODE-$BUILD-$SCEN.out
	ERR=$T/logs/$MODE-$BUILD-$SCEN.err
	mkdir -p "$SD"
}

side_sh() {	# side_sh SCRIPT: sh -c SCRIPT where the workspace is
	if [ "$MODE" = zmx ]; then
		zmx_remote sh -c "$1"
	else
		(cd "$SIDE" && sh -c "$1")
	fi
}

# side_procs: a script printing the processes on the workspace's side,
# pid and command line, one a line (a hook of the mock runs it)
write_side_procs() {
	local list='for p in /proc/[0-9]*; do printf "%s " ${p#/proc/}; tr "\0\n" "  " < $p/cmdline 2>/dev/null; echo; done'
	if [ "$MODE" = zmx ]; then
		printf 'exec nsenter -t %s -m -u -- sh -c %q\n' "$AGENTD_PID" "$list"
	else
		printf '%s\n' "$list"
	fi > "$T/side-procs.sh"
}

# run_claude: the scenario's script (tests' @D@, @SD@ and @T@ filled in)
# played by a fresh mock to the build, under zmx or not; claude's status
# in $RC, its stdout in $OUT, stderr in $ERR, the requests in $LOG
run_claude() {
	local port mock home
	sed -e "s|@D@|$D|g" -e "s|@SD@|$SD|g" -e "s|@T@|$T|g" \
	    "$T/script-$SCEN.json" > "$T/run.json"
	write_side_procs
	rm -f "$T/port" "$LOG"
	$PY "$MOCK" serve --script "$T/run.json" --log "$LOG" \
	    --port-file "$T/port" 2>>"$T/mock.err" &
	mock=$!
	for _ in $(seq 1 100); do
		[ -s "$T/port" ] && break
		sleep 0.05
	done
	port=$(cat "$T/port" 2>/dev/null)
	# the agent's home is local-only: agentd's side has an empty tmpfs
	# over $T/local-only
	home=$T/local-only/home-$MODE-$BUILD
	mkdir -p "$home"
	# what the user's shell set-up defines, the Bash tool's shell has
	# (claude sources it once into a snapshot under its home; scenario g)
	echo 'zmxt_snap() { echo "snapshot-ok $*"; }' > "$home/.bashrc"
	local env=(env HOME="$home" IS_SANDBOX=1
	    ANTHROPIC_BASE_URL="http://127.0.0.1:$port"
	    ANTHROPIC_API_KEY=dummy CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
	    DISABLE_AUTOUPDATER=1)
	# a scenario's own settings: env_X=(NAME=VALUE...)
	eval 'env+=(${env_'"$SCEN"'[@]+"${env_'"$SCEN"'[@]}"})' 
	local t0=$SECONDS
	if [ "$MODE" = zmx ]; then
		"${env[@]}" ZMX_STATS=1 ZMX_TIMEOUT_MS=${ZMX_TIMEOUT_MS:-10000} \
		    LD_PRELOAD=${_asan_rt:-${LD_PRELOAD:-}} \
		    timeout -k 5 "$CLAUDE_LIMIT" "$B/zmx" run -e "$EP" -C "$WS" -- \
		    "${CLAUDE[@]}" -p "scenario $SCEN" --dangerously-skip-permissions \
		    > "$OUT" 2> "$ERR" < /dev/null
	else
		(cd "$AWS" && "${env[@]}" timeout -k 5 "$CLAUDE_LIMIT" \
		    "${CLAUDE[@]}" -p "scenario $SCEN" --dangerously-skip-permissions \
		    > "$OUT" 2> "$ERR" < /dev/null)
	fi
	RC=$?
	diag "$MODE $BUILD $SCEN: claude exit $RC in $((SECONDS - t0)) s"
	STATS=$(grep '^zmx: stats:' "$ERR")
	[ -z "$STATS" ] || diag "${STATS#zmx: stats: }"
	kill "$mock" 2>/dev/null
	wait "$mock" 2>/dev/null
}

# result N [I]: the tool result the agent sent for turn N's tool call I
result() {
	$PY "$MOCK" result "$LOG" "toolu_t$1_${2:-0}"
}

# brief N [I]: the start of that result, on one line, for a description
brief() {
	result "$@" | head -c 160 | tr '\n' ' '
}

# finished: claude ended well, having played the whole script (its last
# turn says WORD)
finished() {
	tag="$MODE $BUILD $SCEN"
	if [ "$RC" != 0 ] || ! grep -q "$1" "$OUT"; then
		ok 1 "$tag: claude ran the script to its end (status $RC)"
		diag "stdout: $(head -c 2000 "$OUT")" "stderr: $(tail -c 3000 "$ERR")"
		return 1
	fi
	ok 0 "$tag: claude ran the script to its end"
}

# ---- the scenarios ----------------------------------------------------------------
# Each has setup_X (files on the workspace's side), script-X.json and
# check_X (assertions). Paths: @D@ is the scenario's directory as the
# agent sees it, @SD@ where it really is, @T@ the test's scratch dir.

# a. Read a file, Edit it to fix a bug, run the project's tests with Bash.
setup_a() {
	cat > "$SD/calc.py" <<'P'
def add(a, b):
    return a - b
P
	cat > "$SD/test_calc.py" <<'P'
import socket
from calc import add
assert add(2, 3) == 5, "add(2, 3) is %d" % add(2, 3)
print("PASS on", socket.gethostname())
P
}
cat > "$T/script-a.json" <<'J'
[
 [{"type": "text", "text": "Reading calc.py."},
  {"type": "tool_use", "name": "Read", "input": {"file_path": "@D@/calc.py"}}],
 [{"type": "tool_use", "name": "Edit", "input": {"file_path": "@D@/calc.py",
   "old_string": "return a - b", "new_string": "return a + b"}}],
 [{"type": "tool_use", "name": "Bash", "input": {"command": "cd @D@ && python3 test_calc.py",
   "description": "Run the tests"}}],
 [{"type": "text", "text": "Fixed: scenario-a-finished"}]
]
J
check_a() {
	finished scenario-a-finished || return
	like "$(result 0 1)" "return a - b" "$tag: Read returned the file"
	unlike "$(result 1)" "^error" "$tag: Edit succeeded: $(brief 1)"
	is "$(cat "$SD/calc.py" 2>&1)" "$(printf 'def add(a, b):\n    return a + b')" \
	    "$tag: the fix is on the workspace's side"
	like "$(result 2)" "PASS on $HOST" "$tag: the tests pass, run on $HOST"
}

# b. Write new files and a Makefile, build and run with Bash, git commit;
# the second Bash call starts where the first one's cd left it (claude
# reads the shell's cwd back from a file under /tmp).
setup_b() { :; }
cat > "$T/script-b.json" <<'J'
[
 [{"type": "tool_use", "name": "Write", "input": {"file_path": "@D@/hello.c",
   "content": "#include <stdio.h>\n#include <sys/utsname.h>\nint main(void) { struct utsname u; uname(&u); printf(\"hello from %s\\n\", u.nodename); return 0; }\n"}},
  {"type": "tool_use", "name": "Write", "input": {"file_path": "@D@/Makefile",
   "content": "hello: hello.c\n\tcc -o hello hello.c\n"}}],
 [{"type": "tool_use", "name": "Bash", "input": {"command": "cd @D@ && make && ./hello",
   "description": "Build and run hello"}}],
 [{"type": "tool_use", "name": "Bash", "input": {"command": "pwd && git init -q && git add hello.c Makefile && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'add hello' && git log --format=%s",
   "description": "Commit the program"}}],
 [{"type": "text", "text": "Built: scenario-b-finished"}]
]
J
check_b() {
	finished scenario-b-finished || return
	unlike "$(result 0 0; result 0 1)" "^error" "$tag: both Writes succeeded"
	like "$(result 1)" "hello from $HOST" "$tag: make && ./hello built and ran on $HOST"
	[ -x "$SD/hello" ]
	ok $? "$tag: the binary is on the workspace's side"
	is "$(result 2)" "$(printf '%s\nadd hello' "$D")" \
	    "$tag: in the cwd the last command left: git commit, git log"
	is "$(side_sh "cd '$D' && git log --format=%s && git status --porcelain")" \
	    "$(printf 'add hello\n?? hello')" "$tag: git log and status on the workspace's side"
}

# c. Glob and Grep over a 2,000-file tree; the native build has no such
# tools (it searches with find and grep in Bash, its own binary re-run as
# bfs and ugrep).
setup_c() {
	$PY - "$SD/tree" <<'P'
import os, sys
top = sys.argv[1]
needles = {(3, 11), (7, 77), (11, 0), (15, 99), (19, 50), (0, 42), (12, 12)}
for d in range(20):
    os.makedirs("%s/d%02d" % (top, d), exist_ok=True)
    for f in range(100):
        with open("%s/d%02d/f%03d.txt" % (top, d, f), "w") as fh:
            fh.write("file d%02d/f%03d\n" % (d, f))
            if (d, f) in needles:
                fh.write("NEEDLE-%d\n" % (d * 100 + f))
P
}
# what they must find, relative to the tree
want_glob=$(for d in 00 01 02 03 04; do for f in 0 1 2 3 4 5 6 7 8 9; do
	echo "d$d/f0${f}7.txt"; done; done)
want_grep=$(printf '%s\n' d00/f042.txt d03/f011.txt d07/f077.txt \
    d11/f000.txt d12/f012.txt d15/f099.txt d19/f050.txt)
cat > "$T/script-c-node.json" <<'J'
[
 [{"type": "tool_use", "name": "Glob", "input": {"pattern": "**/d0[0-4]/*7.txt", "path": "@D@/tree"}},
  {"type": "tool_use", "name": "Grep", "input": {"pattern": "NEEDLE-[0-9]+", "path": "@D@/tree",
   "output_mode": "files_with_matches"}}],
 [{"type": "text", "text": "Searched: scenario-c-finished"}]
]
J
cat > "$T/script-c-native.json" <<'J'
[
 [{"type": "tool_use", "name": "Bash", "input": {"command": "cd @D@/tree && find . -path './d0[0-4]/*7.txt'",
   "description": "Find the files"}},
  {"type": "tool_use", "name": "Bash", "input": {"command": "cd @D@/tree && grep -rlE 'NEEDLE-[0-9]+' .",
   "description": "Search the files"}}],
 [{"type": "text", "text": "Searched: scenario-c-finished"}]
]
J
# the paths in a tool result, relative to the tree, sorted
found() {
	sed -E -e 's#^(.*/)?tree/##' -e 's#^\./##' | grep -E '^d[0-9]{2}/f[0-9]{3}\.txt$' | sort
}
check_c() {
	local opens
	finished scenario-c-finished || return
	is "$(result 0 0 | found)" "$want_glob" "$tag: the 50 files the glob matches, no more"
	is "$(result 0 1 | found)" "$want_grep" "$tag: the 7 files holding the needle"
	[ "$MODE" = zmx ] || return
	# the search programs (node: its bundled rg; native: itself as bfs
	# and ugrep) ran where the files are, rather than pulling the tree
	like "$(grep 'op=command' "$T/audit.log" | grep -F "/$BUILD/c" | grep -F 'NEEDLE-')" \
	    "argv=[^ ]*(rg|ugrep)," "$tag: the search ran on agentd's side (its audit log)"
	opens=$(printf '%s' "$STATS" | sed -n 's/.* open \([0-9]*\).*/\1/p')
	[ "${opens:-0}" -lt 200 ]
	ok $? "$tag: the session opened ${opens:-no} files, not the tree's 2,000"
}

# d. A Bash command that times out is killed, and nothing of it is left
# running on the workspace's side (a hook of the mock looks, before the
# next turn). Both builds would rather move a command that runs over its
# timeout to the background: without background tasks they kill it.
setup_d() { :; }
env_d=(CLAUDE_CODE_DISABLE_BACKGROUND_TASKS=1)
cat > "$T/script-d.json" <<'J'
[
 [{"type": "tool_use", "name": "Bash", "input": {"command": "hostname > @D@/started; sleep 617",
   "timeout": 2000, "description": "Wait a long time"}}],
 {"before": "for i in $(seq 1 100); do sh @T@/side-procs.sh | grep -q '^[0-9]* sleep 617' || break; sleep 0.1; done; sh @T@/side-procs.sh > @SD@/procs",
  "content": [{"type": "text", "text": "Timed out: scenario-d-finished"}]}
]
J
check_d() {
	finished scenario-d-finished || return
	like "$(result 0)" "Exit code 1(37|43)|[Tt]imed out|[Ss]ignal|[Kk]illed|[Aa]bort" \
	    "$tag: the tool result says the command timed out: $(brief 0)"
	is "$(cat "$SD/started" 2>&1)" "$HOST" "$tag: the command started on $HOST"
	is "$(grep -c '^[0-9]* sleep 617' "$SD/procs" 2>&1)" "0" \
	    "$tag: no 'sleep 617' left on that side before the next turn"
	if [ "$MODE" = zmx ]; then
		# pid 1 there is lib.sh's sh: the list was agentd's namespace's
		like "$(grep '^1 ' "$SD/procs")" "hostname zmx-remote" \
		    "$tag: (the processes looked at were those of agentd's PID namespace)"
	fi
}

# e. A background Bash command: its effect appears (the mock waits for it
# before the next turn, which Reads it).
setup_e() { :; }
cat > "$T/script-e.json" <<'J'
[
 [{"type": "tool_use", "name": "Bash", "input": {"command": "sleep 1; hostname > @D@/bg.tmp; echo bg-done >> @D@/bg.tmp; mv @D@/bg.tmp @D@/bg.txt",
   "run_in_background": true, "description": "Work in the background"}}],
 {"before": "for i in $(seq 1 150); do [ -e @SD@/bg.txt ] && break; sleep 0.1; done",
  "content": [{"type": "tool_use", "name": "Read", "input": {"file_path": "@D@/bg.txt"}}]},
 [{"type": "text", "text": "Background: scenario-e-finished"}]
]
J
check_e() {
	finished scenario-e-finished || return
	unlike "$(result 0)" "^error" "$tag: the background command was started: $(brief 0)"
	is "$(cat "$SD/bg.txt" 2>&1)" "$(printf '%s\nbg-done' "$HOST")" \
	    "$tag: its effect is on the workspace's side, made on $HOST"
	like "$(result 1)" "bg-done" "$tag: Read sees it"
}

# f. A file changed on the workspace's side between two turns is read
# fresh, and Edit takes the fresh content.
setup_f() { echo "version 1" > "$SD/note.txt"; }
cat > "$T/script-f.json" <<'J'
[
 [{"type": "tool_use", "name": "Read", "input": {"file_path": "@D@/note.txt"}}],
 {"before": "sleep 1.1; echo 'version 2, changed remotely' > @SD@/note.txt",
  "content": [{"type": "tool_use", "name": "Read", "input": {"file_path": "@D@/note.txt"}}]},
 [{"type": "tool_use", "name": "Edit", "input": {"file_path": "@D@/note.txt",
   "old_string": "version 2", "new_string": "version 3"}}],
 [{"type": "text", "text": "Fresh: scenario-f-finished"}]
]
J
check_f() {
	finished scenario-f-finished || return
	like "$(result 0)" "version 1" "$tag: the first Read sees version 1"
	like "$(result 1)" "version 2, changed remotely" "$tag: the second Read sees the change"
	unlike "$(result 2)" "^error" "$tag: Edit on the fresh content succeeded: $(brief 2)"
	is "$(cat "$SD/note.txt" 2>&1)" "version 3, changed remotely" \
	    "$tag: the edit is on the workspace's side"
}

# g. The Bash tool's shell has what the user's ~/.bashrc defines: claude
# sources it into a shell snapshot in its local home, which every Bash
# call sources; the function's own commands run where the files are.
setup_g() { :; }
cat > "$T/script-g.json" <<'J'
[
 [{"type": "tool_use", "name": "Bash", "input": {"command": "zmxt_snap $(hostname)",
   "description": "Call a function from the shell set-up"}}],
 [{"type": "text", "text": "Shell: scenario-g-finished"}]
]
J
check_g() {
	finished scenario-g-finished || return
	is "$(result 0)" "snapshot-ok $HOST" \
	    "$tag: a function from ~/.bashrc, through the shell snapshot"
}

SCENARIOS="a b c d e f g"

# claude's scratch dir for the project, /tmp/claude-UID/PROJECT (the Bash
# tool's output files): on the side where commands run
scratch() {	# scratch ROOT: that dir under ROOT (a /tmp)
	echo "$1/claude-$(id -u)/$(printf '%s' "$AWS" | sed 's/[^A-Za-z0-9]/-/g')"
}

# one scenario, one build, one mode
scenario() {	# scenario MODE BUILD SCEN
	local hung=hung_$1_$2
	if [ "${!hung:-0}" -ge 2 ]; then
		ok 1 "$1 $2 $3: not run: two runs of $2 already timed out here"
		return
	fi
	set_mode "$@"
	# the native build has no Glob and Grep tools
	if [ -e "$T/script-$SCEN-$BUILD.json" ]; then
		cp "$T/script-$SCEN-$BUILD.json" "$T/script-$SCEN.json"
	fi
	"setup_$SCEN"
	# the builds share the workspace, so its scratch dir: each starts anew
	[ "$MODE" = zmx ] && [ "$SCEN" = a ] && rm -rf "$(scratch "$R/tmp")"
	run_claude
	[ "$RC" = 124 ] && printf -v "$hung" %d $((${!hung:-0} + 1))
	"check_$SCEN"
	if [ "$MODE" = zmx ] && [ "$SCEN" = a ]; then
		# /tmp is remote: the Bash tool's output went there, and
		# claude read it back from there
		[ -d "$(scratch "$R/tmp")" ] && [ ! -e "$(scratch /tmp)" ]
		ok $? "$tag: claude's scratch dir $(scratch /tmp) is on agentd's side only"
	fi
}

# ---- without zmx, then under zmx -----------------------------------------------

BUILDS= whynot=
for build in ${ZMX_CLAUDE_BUILDS:-native node}; do
	find_claude "$build"
	if [ ${#CLAUDE[@]} = 0 ]; then
		whynot="$whynot${whynot:+; }$build: $why"
	else
		BUILDS="$BUILDS $build"
	fi
done
[ -n "$BUILDS" ] || skip_all "$whynot"
[ -z "$whynot" ] || ok 0 "# SKIP $whynot"

# the agents' install exists only here: agentd must not see it
export ZMX_AGENTD_HIDE=$AGENTS
zmx_start_agentd --linger 3

for build in $BUILDS; do
	find_claude "$build"
	diag "$build: $("${CLAUDE[@]}" --version 2>&1 | head -1) (${CLAUDE[*]})"
	# the agent starts here, not on agentd's side
	out=$(HOME=$T/local-only/home-launch zmx_run "${CLAUDE[@]}" --version 2>&1)
	like "$out" "^[0-9.]+ \(Claude Code\)$" \
	    "$build: zmx run ${CLAUDE[*]#$AGENTS/} --version starts the agent here"
	# first locally, then with the files only on agentd's side
	for mode in ${ZMX_CLAUDE_MODES:-local zmx}; do
		for s in ${ZMX_CLAUDE_SCENARIOS:-$SCENARIOS}; do
			scenario "$mode" "$build" "$s"
		done
	done
	first=$(ls "$T"/logs/*-"$build"-*.jsonl 2>/dev/null | head -1)
	$PY "$MOCK" tools "$first" > "$T/tools-$build" 2>&1
	diag "$build offers the tools: $(cat "$T/tools-$build")"
done

# the agent's home stayed local: it is there, and agentd's side of
# $T/local-only (an empty tmpfs) got nothing
if [ "${ZMX_CLAUDE_MODES:-local zmx}" != local ]; then
	for build in $BUILDS; do
		[ -d "$T/local-only/home-zmx-$build/.claude" ]
		ok $? "$build kept its state (~/.claude) in its local home"
	done
	is "$(zmx_remote ls -A "$T/local-only" 2>&1)" "" \
	    "nothing of the agents' homes appeared on agentd's side"
fi

# the local workspace is untouched (the agent's home, under
# $T/local-only, is the only local thing it changed)
local_untouched
[ -z "$(ls -A "$T/local-only/" 2>/dev/null | grep -v '^home-')" ]
ok $? "nothing but the agents' homes appeared in the local-only dir"

# claude's local scratch dirs for our workspaces are ours to remove (the
# zmx one exists only if something went wrong)
set_mode local x x
rm -rf "$(scratch /tmp)"
rmdir "$T/plain/x/x" "$T/plain/x"
AWS=$WS
rm -rf "$(scratch /tmp)"

done_testing
rc=$?
# a failed run keeps $T, but not the staged copies of the native binary
# (400 MB each) in agentd's store
rm -rf "$T/state/stage" "$T/state/uploads"
exit $rc
