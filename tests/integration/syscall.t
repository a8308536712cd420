#!/bin/bash
# File calls made through libc's syscall() function reach the remote
# side like their libc twins, and the fd table follows dup and fcntl.
. "$(dirname "$0")/../lib.sh"
command -v cc >/dev/null || skip_all "no C compiler"
top=$(cd "$(dirname "$0")/../.." && pwd)
cc -o "$T/rawcalls" "$top/tests/progs/rawcalls.c" || skip_all "cannot build rawcalls"

echo one > "$R/ws/a"
echo two > "$R/ws/b"
zmx_start_agentd

out=$(zmx_run "$T/rawcalls" 2>&1)
is "$out" "$(printf 'stat 0 size 12\nchown 0\nmknodat 0\nentries 6')" \
    "creat, dup, fcntl, close, stat, chown, mknodat, getdents64 through syscall()"
is "$(cat "$R/ws/raw.txt" 2>&1)" "via syscall" \
    "written back when the last dup was closed"
is "$(stat -c %u:%g "$R/ws/raw.txt")" "4242:4343" "chown reached agentd"
is "$(stat -c %F "$R/ws/raw.fifo")" "fifo" "mknodat reached agentd"
local_untouched
done_testing
