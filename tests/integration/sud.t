#!/bin/bash
# Raw syscall instructions in the program's own text (as Bun makes its
# openat, read and write) reach the remote side through Syscall User
# Dispatch: in every thread, in fork, vfork and exec children, with the
# program's own SIGSYS handler, a seccomp filter, or SIGSYS blocked.
. "$(dirname "$0")/../lib.sh"
command -v cc >/dev/null || skip_all "no C compiler"
top=$(cd "$(dirname "$0")/../.." && pwd)
cc -O1 -pthread -o "$T/rawsys" "$top/tests/progs/rawsys.c" ||
    skip_all "cannot build rawsys"
# the kernel's inclusive mode (Linux 6.16) is what the shim asks for
case $(uname -r) in
[1-5].*|6.[0-9].*|6.1[0-5].*) skip_all "Linux $(uname -r) has no inclusive syscall user dispatch" ;;
esac

echo "remote only" > "$R/ws/only-remote.txt"
zmx_start_agentd

raw() { zmx_run "$T/rawsys" "$@" 2>&1; }

out=$(raw basic)
is "$out" "put 0
raw.txt: written raw
stat 0 size 12
fstat 0 size 12
openat2 ok remote only
mkdir 0
edit put 0
edit rename 0
edit read edited
list . .. only-remote.txt raw.txt rawdir" \
    "raw openat/write/read/close, newfstatat, fstat, openat2, mkdirat, getdents64 see the remote side"
is "$(cat "$R/ws/raw.txt")" "written raw" "the raw write reached agentd"
is "$(cat "$R/ws/rawdir/file" 2>&1)" "edited" \
    "an Edit through /proc/self/fd/N/name of a remote directory fd: temp file renamed over"
[ ! -e "$R/ws/rawdir/.file.tmp" ]; ok $? "no temporary file left"

is "$(raw threads)" "threads ok 8" "8 threads' raw calls"
n=0
for i in 0 1 2 3 4 5 6 7; do
	[ "$(cat "$R/ws/t$i.txt" 2>/dev/null)" = "thread $i" ] && n=$((n + 1))
done
is "$n" 8 "every thread's file is on agentd"

is "$(raw fork)" "fork child 0
raw fork child 0" "a libc fork child and a raw fork child write remotely"
is "$(cat "$R/ws/child.txt" "$R/ws/rawchild.txt" 2>&1)" "libc fork child
raw fork child" "both children's files are on agentd"

is "$(raw vfork)" "vfork child 0
vfork-pwd.txt: $WS/sub" \
    "a vfork child's raw chdir into a remote directory holds for its exec"

is "$(raw exec)" "after exec put 0
exec.txt: new image" "the new image traps raw calls too"
is "$(cat "$R/ws/exec.txt" 2>&1)" "new image" "its file is on agentd"

is "$(raw sigsys)" "sigaction 0
put 0
query gives ours 1
kill: handler ran 1 code SI_USER
raw rt_sigaction 0
raw old is ours 1
put 0
ignored: handler ran 1" \
    "the program's SIGSYS handler: installed as far as it can tell, not called for traps, called for a kill; a raw rt_sigaction too"
is "$(cat "$R/ws/after-handler.txt" "$R/ws/after-raw.txt" 2>&1)" \
    "with a handler
after a raw handler" "raw calls still trapped after both"

is "$(raw seccomp)" "seccomp trap: handler ran 1 code SYS_SECCOMP
raw: handler ran 2
put 0" "a seccomp SIGSYS goes to the program's handler, also after a trap"

is "$(raw blocked)" "put 0
put 0
put 0
put 0" "SIGSYS blocked by sigprocmask, pthread_sigmask, raw rt_sigprocmask, a full mask: raw calls still work"
is "$(cat "$R/ws/blocked4.txt" 2>&1)" "everything blocked" "and reach agentd"

is "$(raw iouring)" "raw io_uring_setup Function not implemented
syscall() io_uring_setup Function not implemented
UV_USE_IO_URING=0" "io_uring is refused (libuv falls back), UV_USE_IO_URING=0"

if cc -shared -fPIC -pthread -o "$T/librawsys_early.so" \
    "$top/tests/progs/rawsys_early.c" &&
    cc -O1 -pthread -DRAWSYS_EARLY -o "$T/rawsys-early" \
    "$top/tests/progs/rawsys.c" -L"$T" -lrawsys_early -Wl,-rpath,"$T"; then
	is "$(zmx_run "$T/rawsys-early" early 2>&1)" \
	    "early.txt: from a thread older than the shim" \
	    "a thread started before the shim's constructor traps raw calls too"
	is "$(cat "$R/ws/early.txt" 2>&1)" "from a thread older than the shim" \
	    "its file is on agentd"
else
	skip 2 "cannot build the early-thread library"
fi
local_untouched
rm -f "$R/ws/raw.txt"
ZMX_SUD=0 zmx_run "$T/rawsys" basic >/dev/null 2>&1
[ -f "$WS/raw.txt" ] && [ ! -e "$R/ws/raw.txt" ]
ok $? "with ZMX_SUD=0 raw calls stay local"
rm -rf "$WS/raw.txt" "$WS/rawdir"
done_testing
