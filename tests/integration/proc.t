#!/bin/bash
# Remote commands on agentd (zmx-protocol(7), COMMANDS), driven raw: a
# command runs in agentd's namespace with its output, stdin, exit status
# and signals crossing as requests; its errors are execve's (ENOPKG for
# a program the client may stage); KILL_TREE and the end of its session
# leave no process of its tree; bad argv, read-only keys and the
# --max-procs limit are refused; a staged program runs by digest; what a
# command changed is invalidated before its exit is told.
. "$(dirname "$0")/../lib.sh"

req() {
	timeout 60 "$B/tests/zmxreq" -T 10000 -e "$EP" "$@"
}
# gone PATTERN: no process matches it within 15 s (agentd may run under
# valgrind on a loaded machine)
gone() {
	for _ in $(seq 1 300); do
		pgrep -f "$1" >/dev/null || return 0
		sleep 0.05
	done
	return 1
}

zmx_start_agentd --max-procs 3 --linger 1 --log-level info

out=$(req spawn 1 /bin/sh "$WS" capture sh -c 'echo out; echo err >&2; exit 3' :: drain 1)
is "$out" "OK
EXIT status=768 flags=0x7 outlen=4 out=out\\n err=err\\n" \
    "a command's stdout, stderr and exit status 3 (3<<8) come back"
like "$(cat "$T/audit.log")" "op=command path=$WS argv=sh,-c,echo%20out;%20echo%20err%20>&2;%20exit%203 exit=3 ms=[0-9]+ result=ok" \
    "and it is audited with argv, cwd, exit and duration"
out=$(req spawn 1 hostname "$WS" search,capture :: drain 1)
like "$out" "out=zmx-remote\\\\n" "it runs on agentd's side (hostname of its namespace), found in PATH"
echo hi > "$R/ws/data"
cp /bin/cat "$R/ws/mycat"
out=$(req spawn 7 ./mycat "$WS/nodir" capture cat data :: spawn 7 ./mycat "$WS" capture cat data :: drain 7)
like "$out" "^ERROR ENOENT" "a cwd that does not exist: ENOENT"
like "$out" "out=hi\\\\n" "a relative path is the cwd's"
out=$(req spawn 7 /bin/true ws capture)
like "$out" "^ERROR EACCES ws: outside scope" "a cwd is a wire path: a relative one is outside the scope"

out=$(req spawn 1 /nonexist "$WS" capture)
like "$out" "^ERROR ENOENT /nonexist: No such file or directory" "a missing program: ENOENT"
out=$(req spawn 1 nosuch-prog "$WS" search,capture)
like "$out" "^ERROR ENOENT nosuch-prog" "a name not in PATH: ENOENT"
out=$(req spawn 1 nosuch-prog "$WS" search,capture,stage)
like "$out" "^ERROR ENOPKG nosuch-prog: not on agentd's machine" \
    "with ZMX_SPAWN_MAY_STAGE: ENOPKG, so the client stages it"
printf '#!/nonexistent-interpreter\n' > "$R/ws/badinterp"
chmod 755 "$R/ws/badinterp"
if [ "${ZMX_AGENTD_VALGRIND:-0}" = 1 ]; then
	# valgrind cannot go on in a child whose execve failed late
	ok 0 "# SKIP a missing interpreter: not under valgrind"
else
	out=$(req spawn 1 "$WS/badinterp" "$WS" capture,stage)
	like "$out" "^ERROR ENOENT" "a missing interpreter stays ENOENT, not ENOPKG"
fi
printf 'echo x\n' > "$R/ws/noexec"
chmod 644 "$R/ws/noexec"
out=$(req spawn 1 "$WS/noexec" "$WS" capture)
like "$out" "^ERROR EACCES" "a file without x: EACCES"
out=$(req spawn 1 /bin/sleep "$WS" capture sleep 1 :: spawn 1 /bin/true "$WS" capture)
like "$out" "^OK
ERROR EEXIST" "a handle in use: EEXIST"

out=$(req spawn 2 /bin/cat "$WS" capture,pipein :: pwrite_in 2 0 'hello ' :: \
    pwrite_in 2 0 'hello ' :: pwrite_in 2 1 world eof :: drain 2)
is "$out" "OK
OK
OK
OK
EXIT status=0 flags=0x7 outlen=11 out=hello\\x20world err=" \
    "stdin in order by seq (a repeat is OK again), EOF closes it"
out=$(req spawn 3 /bin/sh "$WS" capture,pipein sh -c 'exec 0<&-; sleep 0.3' :: \
    wait 200 :: pwrite_in 3 0 data :: drain 3)
like "$out" "ERROR EPIPE" "stdin closed by the command: EPIPE"
like "$out" "EXIT status=0 flags=0x17" "and the output says ZMX_OUT_IN_CLOSED"

out=$(req spawn 4 /bin/sleep "$WS" capture sleep 100 :: proc_ctl 4 signal 15 :: drain 4)
like "$out" "EXIT status=15 " "PROC_CTL SIGNAL: the command dies of SIGTERM"
out=$(req spawn 5 /bin/sh "$WS" capture sh -c 'sleep 1001 & sleep 1001' :: \
    wait 300 :: proc_ctl 5 kill :: drain 5)
like "$out" "EXIT status=9 " "KILL_TREE: the command dies of SIGKILL"
gone "sleep 1001"
ok $? "and no process of its tree is left (the background sleep too)"
out=$(req spawn 6 /bin/sh "$WS" capture sh -c 'sleep 1002 >/dev/null 2>&1 & echo started' :: drain 6)
like "$out" "EXIT status=0 .*out=started" "a command that leaves a background job ends"
pgrep -f "sleep 1002" >/dev/null
ok $? "its background job lives while the session does"
sleep 3.5	# --linger 1, swept every 2 s
gone "sleep 1002"
ok $? "and is killed when the session ends"

out=$(req pread_out 99 0 :: pwrite_in 99 0 x :: proc_ctl 99 done)
is "$(printf '%s\n' "$out" | cut -d' ' -f1-2 | sort -u)" "ERROR ESRCH" \
    "an unknown handle: ESRCH"
out=$(req spawn 1 x "$WS" capture,rawargv=616263 :: spawn 1 x "$WS" capture,rawargv= :: \
    spawn 0 /bin/true "$WS" capture :: spawn 1 /bin/true "$WS" capture,tty=8)
is "$(printf '%s\n' "$out" | cut -d' ' -f1-2 | sort -u)" "ERROR EINVAL" \
    "argv not NUL-ended, no argv, handle 0, bad tty bits: EINVAL"
head -c 3000000 /dev/zero | tr '\0' 'a' | fold -w 100 > "$T/args"
out=$(req spawn 1 /bin/true "$WS" capture $(head -c 1000000 "$T/args") :: drain 1)
like "$out" "^(OK|ERROR E2BIG)" "a huge argv is run or refused, and agentd lives on"
kill -0 "$AGENTD_PID"
ok $? "agentd still runs"

out=$(req spawn 1 /bin/sleep "$WS" capture sleep 1003 :: spawn 2 /bin/sleep "$WS" capture sleep 1003 :: \
    spawn 3 /bin/sleep "$WS" capture sleep 1003 :: spawn 4 /bin/true "$WS" capture)
like "$out" "ERROR EAGAIN key - runs 3 commands, its limit \(agentd --max-procs\)" \
    "--max-procs 3: the fourth command is refused with EAGAIN"
sleep 3.5
gone "sleep 1003"
ok $? "they are killed when their session ends"

cp /bin/true "$T/true-copy"
sum=$(sha256sum "$T/true-copy" | cut -d' ' -f1)
out=$(req stage_query "$sum" :: spawn 1 mytrue "$WS" capture,digest=$sum)
is "$out" "ERROR ENOENT stage $sum: not staged
ERROR ENOPKG mytrue: not staged" "a program not staged: ENOENT to a query, ENOPKG to run"
out=$(req stage "$T/true-copy" 00$(printf %062d 0))
like "$out" "^ERROR EBADMSG" "a wrong digest: EBADMSG"
out=$(req stage "$T/true-copy" :: stage_query "$sum" :: \
    spawn 1 mytrue "$WS" capture,digest=$sum :: drain 1)
like "$out" "^OK
OK
OK
EXIT status=0 " "staged, it is found and runs by digest"
ls -la "$T/state/stage/"*/ > "$T/stage-ls"
like "$(cat "$T/stage-ls")" "rwxr-xr-x .* $sum" "stored 0755 under its digest"
ok $(ls -a "$T/state/stage/"*/ | grep -c '^\.up-' | grep -qx 0; echo $?) "no temp file left"

out=$(req --invals readdir "$WS" :: spawn 1 /bin/touch "$WS" capture touch made-remotely :: drain 1)
like "$out" "INVAL $WS/made-remotely .*
EXIT status=0" "a file the command made is invalidated before its exit is told"

zombies=$(ps -o stat= --ppid "$AGENTD_PID" | grep -c Z)
is "$zombies" 0 "agentd leaves no zombie"
zmx_stop_agentd

zmx_start_agentd --read-only
out=$(req spawn 1 /bin/true "$WS" capture :: stage "$T/true-copy" :: pread_out 1 0)
is "$(printf '%s\n' "$out" | cut -d' ' -f1-2 | sort -u)" "ERROR EROFS" \
    "a read-only key runs and stages nothing: EROFS"
local_untouched
done_testing
