# lib.sh - what every integration test needs: TAP output, a private agentd
# in its own mount and UTS namespace (the "remote machine"), and programs
# run under `zmx run` on the local side.
#
# Layout of a test's scratch directory $T (under /var/tmp, since /tmp is
# remote in these tests):
#   $T/ws          the workspace path; locally it holds only .local-marker
#   $T/remote/ws   what agentd sees at $T/ws (bind-mounted in its namespace)
#   $T/remote/tmp  what agentd sees at /tmp
# A test asserts what the program printed, what changed under $T/remote,
# and that $T/ws and the local /tmp stayed as they were.
#
# ZMX_KEEP=1 keeps $T; ZMX_AGENTD_VALGRIND=1 runs agentd under valgrind
# and fails the test on any valgrind error; ZMX_ASAN=1 (with ZMX_BUILD
# pointing at build-asan) preloads the ASan runtime for the shim and fails
# the test on any sanitizer report from agentd.

set -u
# what python does must not depend on the caller's environment: no
# __pycache__ left in a remote workspace
export PYTHONDONTWRITEBYTECODE=1
B=${ZMX_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
T=$(mktemp -d /var/tmp/zmxt.XXXXXX)
WS=$T/ws
# the session's cache of staged programs' digests: the test's own
export XDG_CACHE_HOME=$T/cache
# a make the tests run is not a sub-make of `make check` (it would print
# "make[1]: Entering directory" and look for the jobserver)
unset MAKELEVEL MAKEFLAGS MFLAGS
R=$T/remote
mkdir -p "$WS" "$R/ws" "$R/tmp"
chmod 1777 "$R/tmp"
echo "local side: must stay untouched" > "$WS/.local-marker"
AGENTD_PID=
EP=
_n=0
_failed=0

# ---- TAP ------------------------------------------------------------------

ok() {	# ok COND-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

is() {	# is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		# on stderr: prove shows it without -v, so a CI log says why
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2" | head -40 >&2
	fi
}

like() {	# like GOT REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want match: %s\n' "$1" "$2" | head -40 >&2
	fi
}

unlike() {	# unlike GOT REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '#   got:  %s\n#   must not match: %s\n' "$1" "$2" | head -40 >&2
	else
		ok 0 "$3"
	fi
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

diag() {
	printf '# %s\n' "$@"
}

# ---- agentd ---------------------------------------------------------------

# free_port: a loopback TCP port nothing listens on right now
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stop_proc PID: SIGSTOP, then wait until every thread has stopped (a
# group stop completes asynchronously, thread by thread)
stop_proc() {
	local t st left
	kill -STOP "$1" || return 1
	for _ in $(seq 1 200); do
		left=0
		for t in /proc/"$1"/task/*/stat; do
			st=$(awk '{ print $3 }' "$t" 2>/dev/null)
			[ -z "$st" ] || [ "$st" = T ] || left=1
		done
		[ $left = 0 ] && return 0
		sleep 0.01
	done
	return 1
}

# rss_kb PID [VmRSS|VmHWM]: a process's resident memory in kB
rss_kb() {
	awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status"
}

# AGENTD_PID is agentd's own pid: unshare and sh exec it.
#
# With ZMX_AGENTD_PIDNS=1 agentd also gets its own PID namespace (and
# /proc): a shell is its pid 1 (init ignores signals it has no handler
# for, and agentd takes its own through a signalfd), agentd its child;
# $T/local-only is hidden there under an empty tmpfs, for programs only
# the local side has; so is every directory ZMX_AGENTD_HIDE names
# (space-separated absolute paths, e.g. an agent's install).

# zmx_start_agentd [AGENTD ARGS...]: agentd serving tcp on loopback from
# its own mount+UTS namespace, hostname zmx-remote, audit log $T/audit.log.
zmx_start_agentd() {
	local wrap=""

	rm -f "$T/endpoint"
	if [ "${ZMX_AGENTD_VALGRIND:-0}" = 1 ]; then
		wrap="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=$T/valgrind.%p"
	fi
	# agentd's namespace mounts over /tmp, where the build may live
	cp "$B/agentd" "$T/agentd"
	mkdir -p "$T/local-only"
	if [ "${ZMX_AGENTD_PIDNS:-0}" = 1 ]; then
		unshare -m -u -p --fork --mount-proc --propagation private \
		    /bin/sh -c '
			set -e
			hostname zmx-remote
			mount --bind "$1/remote/ws" "$1/ws"
			mount --bind "$1/remote/tmp" /tmp
			mount -t tmpfs none "$1/local-only"
			for d in ${ZMX_AGENTD_HIDE:-}; do
				mount -t tmpfs none "$d"
			done
			t=$1
			shift
			"$@" &
			echo $! > "$t/agentd.started"
			wait' sh "$T" $wrap "$T/agentd" -l 'tcp://127.0.0.1:*' \
		    -E "$T/endpoint" -a "$T/audit.log" --state-dir "$T/state" \
		    "$@" 2>>"$T/agentd.log" &
		_ns_pid=$!
		AGENTD_PID=
		# unshare -> sh (pid 1 there) -> agentd, its only child once
		# it said it started it
		for _ in $(seq 1 200); do
			[ -s "$T/agentd.started" ] && break
			sleep 0.02
		done
		_sh=$(cat /proc/$_ns_pid/task/*/children 2>/dev/null)
		AGENTD_PID=$(cat /proc/${_sh%% *}/task/*/children 2>/dev/null)
		AGENTD_PID=${AGENTD_PID%% *}
	else
		unshare -m -u --propagation private /bin/sh -c '
			set -e
			hostname zmx-remote
			mount --bind "$1/remote/ws" "$1/ws"
			mount --bind "$1/remote/tmp" /tmp
			shift
			exec "$@"' sh "$T" $wrap "$T/agentd" \
		    -l 'tcp://127.0.0.1:*' -E "$T/endpoint" \
		    -a "$T/audit.log" --state-dir "$T/state" "$@" \
		    2>>"$T/agentd.log" &
		AGENTD_PID=$!
	fi
	for _ in $(seq 1 200); do
		[ -s "$T/endpoint" ] && break
		kill -0 "${AGENTD_PID:-0}" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$T/endpoint" ]; then
		echo "Bail out! agentd did not start: $(cat "$T/agentd.log")"
		exit 1
	fi
	EP=$(cat "$T/endpoint")
	# without keys, agentd serves whoever shows the cookie it keeps in
	# its state directory (clients read it through ZMX_COOKIE)
	export ZMX_COOKIE=$T/state/cookie
}

zmx_stop_agentd() {
	[ -n "$AGENTD_PID" ] || return 0
	kill -TERM "$AGENTD_PID" 2>/dev/null
	wait "$AGENTD_PID" 2>/dev/null
	# in its own PID namespace agentd is not our child
	for _ in $(seq 1 200); do
		kill -0 "$AGENTD_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "${_ns_pid:-}" ] && wait "$_ns_pid" 2>/dev/null
	AGENTD_PID=
	if [ "${ZMX_AGENTD_VALGRIND:-0}" = 1 ]; then
		local errs
		# errors are "==pid==" lines; "--pid--" lines are notes (such
		# as openat2 being unknown to valgrind 3.19: agentd falls back)
		errs=$(grep -h '^==' "$T"/valgrind.* 2>/dev/null)
		is "$errs" "" "valgrind found no error in agentd"
	fi
	if [ "${ZMX_ASAN:-0}" = 1 ]; then
		unlike "$(cat "$T/agentd.log")" "Sanitizer|runtime error" \
		    "no sanitizer report from agentd"
	fi
}

# zmx_remote CMD [ARGS...]: CMD as agentd sees the world, in its mount
# and UTS namespace with the workspace ($WS there) as cwd, for asserting
# remote state with real tools (stat, getfattr, du).
zmx_remote() {
	nsenter -t "$AGENTD_PID" -m -u -- \
	    /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$WS" "$@"
}

# The processes in agentd's PID namespace (ZMX_AGENTD_PIDNS=1) whose
# command line matches PATTERN, a count.
remote_count() {	# remote_count PATTERN
	zmx_remote sh -c 'for p in /proc/[0-9]*; do
		tr "\0" " " < $p/cmdline 2>/dev/null; echo; done' |
	    grep -c -- "$1"
}

wait_gone() {	# wait_gone PATTERN: 0 once no remote process matches (10 s)
	for _ in $(seq 1 100); do
		[ "$(remote_count "$1")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# The shim built with ASan needs the runtime loaded first; zmx run puts
# libzmx.so first, so the order check is relaxed (malloc still resolves
# to the runtime, which is all it needs).
if [ "${ZMX_ASAN:-0}" = 1 ]; then
	_asan_rt=$(gcc -print-file-name=libasan.so)
	export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi

# zmx_run [PROGRAM ARGS...]: the program under the shim, cwd the workspace.
# Its commands run locally (--local-commands), so that what a test of the
# shim asserts is the shim's doing; ZMX_REMOTE_COMMANDS=1 lets them run
# on agentd's side, as by default.
zmx_run() {
	local cmds=--local-commands

	[ "${ZMX_REMOTE_COMMANDS:-0}" = 1 ] && cmds=
	ZMX_TIMEOUT_MS=${ZMX_TIMEOUT_MS:-10000} \
	    LD_PRELOAD=${_asan_rt:-${LD_PRELOAD:-}} \
	    "$B/zmx" run -e "$EP" -C "$WS" $cmds -- "$@"
}

# Every file under a directory, with its content digest, for "untouched"
# checks.
snapshot() {
	(cd "$1" && find . -printf '%p %y %s\n' | sort && \
	    find . -type f -exec md5sum {} + | sort)
}

# Call at the start: records the local side. local_untouched at the end
# checks it.
_local_before=$(snapshot "$WS")

local_untouched() {
	is "$(snapshot "$WS")" "$_local_before" \
	    "the local workspace directory was not touched"
}

done_testing() {
	zmx_stop_agentd
	echo "1..$_n"
	if [ "$_failed" -ne 0 ] || [ "${ZMX_KEEP:-0}" = 1 ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	[ "$_failed" -eq 0 ]
}

_cleanup() {
	if [ -n "$AGENTD_PID" ]; then
		kill -TERM "$AGENTD_PID" 2>/dev/null
		wait "$AGENTD_PID" 2>/dev/null
		[ -n "${_ns_pid:-}" ] && wait "$_ns_pid" 2>/dev/null
	fi
}
trap _cleanup EXIT
