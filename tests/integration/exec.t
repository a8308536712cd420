#!/bin/bash
# Remote commands (DESIGN.md decision 3): every command the agent starts
# with a remote cwd runs on agentd's side, whole, and the agent cannot
# tell: the remote machine's answers, exit statuses and signals exactly,
# streams with flow control both ways, errors as bash reports them
# locally, every way of starting a command, staging of a program only the
# local side has, and nothing left behind on agentd when zmx-exec dies.
# agentd runs in its own mount, UTS and PID namespace.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"
[ -x "$B/zmx-exec" ] || skip_all "no $B/zmx-exec"
export LC_ALL=C ZMX_REMOTE_COMMANDS=1 ZMX_AGENTD_PIDNS=1
top=$(cd "$(dirname "$0")/../.." && pwd)

cat > "$R/ws/hello.c" <<'C'
#include <stdio.h>
#include <sys/utsname.h>
int main(void) { struct utsname u; uname(&u); printf("hello from %s\n", u.nodename); return 0; }
C
printf '#!/bin/sh\necho "script on $(hostname)"\nexit 3\n' > "$R/ws/script.sh"
chmod 755 "$R/ws/script.sh"
printf 'not executable\n' > "$R/ws/noexec"
printf '#!/nonexistent/interp\n' > "$R/ws/badinterp"
chmod 755 "$R/ws/badinterp"
mkdir -p "$R/ws/adir"
zmx_start_agentd --linger 3
zmx_remote sh -c "echo remote-only > '$T/local-only/marker'"

# ---- the remote machine answers ----------------------------------------------

out=$(zmx_run bash -c "hostname; uname -n; cat '$T/local-only/marker'" 2>&1)
is "$(echo $out)" "zmx-remote zmx-remote remote-only" \
    "hostname, uname -n and a file only agentd has: the remote side's"
[ -e "$T/local-only/marker" ]
ok $((! $?)) "the marker exists only on agentd's side"

out=$(zmx_run bash -c 'gcc -o hello hello.c && ./hello' 2>&1)
is "$out" "hello from zmx-remote" "gcc then ./hello: built and run remotely"
[ -x "$R/ws/hello" ]
ok $? "the binary is on agentd's side"

cat > "$R/ws/Makefile" <<'M'
prog: prog.c
	cc -o prog prog.c
M
out=$(zmx_run bash -c 'printf "int main(void){return 7;}\n" > prog.c && make -s && ./prog; echo "prog $?"' 2>&1)
is "$out" "prog 7" "a file the agent wrote, make, ./prog: its status"

out=$(zmx_run bash -c './script.sh; echo "status $?"' 2>&1)
is "$(echo $out)" "script on zmx-remote status 3" \
    "./script.sh that exists only remotely runs there"

out=$(zmx_run bash -c 'install -m 755 script.sh inst.sh && ./inst.sh; echo $?' 2>&1)
is "$(echo $out)" "script on zmx-remote 3" "install -m 755, then run"

# ---- errors as bash reports them locally ------------------------------------

L=$T/local
mkdir -p "$L"
cp -a "$R/ws/noexec" "$R/ws/badinterp" "$L/"
mkdir -p "$L/adir"
errs='./noexec; echo "s $?"; ./missing; echo "s $?"; ./adir; echo "s $?"; ./badinterp; echo "s $?"'
want=$(cd "$L" && bash -c "$errs" 2>&1 | sed "s|$L|$WS|g")
got=$(zmx_run bash -c "$errs" 2>&1)
is "$got" "$want" "not executable, missing, a directory, a bad interpreter: as locally"
like "$(echo $got)" "Permission denied s 126" "EACCES is 126"

# ---- exit statuses and signals ----------------------------------------------

cat > "$T/status.py" <<'P'
import subprocess, sys
for code in (0, 1, 2, 127, 255):
    print("exit", code, subprocess.run(["sh", "-c", "exit %d" % code]).returncode)
import os
for sig in os.environ.get("SIGS", "KILL SEGV TERM").split():
    print("sig", sig, subprocess.run(["sh", "-c", "kill -%s $$" % sig]).returncode)
P
# under ASan its runtime, preloaded into every command, turns SIGSEGV
# into an abort
if [ "${ZMX_ASAN:-0}" = 1 ]; then
	out=$(SIGS="KILL TERM" zmx_run $PY "$T/status.py" 2>&1)
	is "$(echo $out)" "exit 0 0 exit 1 1 exit 2 2 exit 127 127 exit 255 255 sig KILL -9 sig TERM -15" \
	    "exit codes 0 1 2 127 255 and deaths by KILL, TERM: exact"
	ok 0 "# SKIP SIGSEGV under ASan (its runtime catches it in the command)"
else
	out=$(zmx_run $PY "$T/status.py" 2>&1)
	is "$(echo $out)" "exit 0 0 exit 1 1 exit 2 2 exit 127 127 exit 255 255 sig KILL -9 sig SEGV -11 sig TERM -15" \
	    "exit codes 0 1 2 127 255 and deaths by KILL, SEGV, TERM: exact"
	out=$(zmx_run bash -c 'sh -c "kill -SEGV \$\$"; echo "bash saw $?"' 2>&1)
	like "$out" "bash saw 139" "bash sees 128+SIGSEGV"
fi

# ---- streams -------------------------------------------------------------------

out=$(zmx_run bash -c 'yes | head -1; echo "${PIPESTATUS[*]}"' 2>&1)
is "$(echo $out)" "y 141 0" "yes | head -1: one line, yes dies of SIGPIPE"
out=$(zmx_run bash -c 'seq 1e7 | tail -1' 2>&1)
is "$out" "10000000" "seq 1e7 | tail -1"
out=$(zmx_run bash -c 'printf "a\nb\nc\n" | wc -l' 2>&1)
is "$out" "3" "stdin from a local pipe (a builtin's printf)"

cat > "$T/streams.py" <<'P'
import os, subprocess, sys, threading
N = 200 << 20
# 200 MB in and out of a remote cat at once
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
peak = [0]
def feed():
    buf = b"x" * (1 << 20)
    for _ in range(N >> 20):
        p.stdin.write(buf)
    p.stdin.close()
def hwm():
    try:
        for l in open("/proc/%d/status" % p.pid):
            if l.startswith("VmHWM:"):
                peak[0] = max(peak[0], int(l.split()[1]))
    except OSError:
        pass
t = threading.Thread(target=feed); t.start()
got = 0
while True:
    b = p.stdout.read(1 << 20)
    if not b:
        break
    got += len(b)
    hwm()
t.join()
print("cat", got, p.wait())
print("zmx-exec-hwm-kb", peak[0], file=sys.stderr)
for l in open("/proc/%d/status" % os.getppid()):
    if l.startswith("VmHWM:"):
        print("session-hwm-kb", l.split()[1], file=sys.stderr)
# stdout into a local file and into a remote one
with open(sys.argv[1], "w") as f:
    subprocess.run(["hostname"], stdout=f)
with open("remote-out.txt", "w") as f:
    subprocess.run(["hostname"], stdout=f)
print("local file:", open(sys.argv[1]).read().strip())
P
out=$(zmx_run $PY "$T/streams.py" "$T/local-out.txt" 2>"$T/streams.err")
is "$(echo $out)" "cat 209715200 0 local file: zmx-remote" \
    "200 MB both ways through a remote cat; hostname into a local file"
is "$(cat "$R/ws/remote-out.txt" 2>&1)" "zmx-remote" \
    "hostname into a remote file fd: on agentd"
hwm=$(awk '/zmx-exec-hwm-kb/ { print $2 }' "$T/streams.err")
diag "zmx-exec peak RSS during 200 MB each way: ${hwm:-?} kB; agentd $(rss_kb "$AGENTD_PID" VmHWM) kB"
shwm=$(awk '/session-hwm-kb/ { print $2 }' "$T/streams.err")
ahwm=$(rss_kb "$AGENTD_PID" VmHWM)
if [ "${ZMX_ASAN:-0}" = 1 ]; then
	# ASan's allocator keeps freed memory in quarantine
	ok 0 "# SKIP memory bounds under ASan (zmx-exec ${hwm:-?} kB, session ${shwm:-?} kB)"
else
	[ -n "$hwm" ] && [ "$hwm" -lt 65536 ]
	ok $? "zmx-exec stays under 64 MB while 200 MB pass each way"
	[ -n "$shwm" ] && [ "$shwm" -lt 65536 ]
	ok $? "the session (zmx run) stays under 64 MB (${shwm:-?} kB)"
	[ "${ahwm:-999999}" -lt 131072 ]
	ok $? "agentd stays under 128 MB (${ahwm:-?} kB)"
fi

# stdout and stderr that are one open file keep their order
out=$(zmx_run bash -c "sh -c 'for i in 1 2 3; do echo o\$i; echo e\$i >&2; done' > both.txt 2>&1; cat both.txt" 2>&1)
is "$(echo $out)" "o1 e1 o2 e2 o3 e3" "2>&1 into one file: the lines in order"

# a command that ended, leaving a background job that holds its stdout:
# whoever waits for it is told at once, the job's output still comes
cat > "$T/ended.py" <<'P'
import subprocess, time
t = time.time()
p = subprocess.Popen(["bash", "-c", "(sleep 3; echo late) & echo main; exit 4"],
                     stdout=subprocess.PIPE, text=True)
rc = p.wait(); t1 = time.time() - t
out = p.stdout.read(); t2 = time.time() - t
print(rc, t1 < 2, out.split(), t2 >= 2.5)
P
out=$(zmx_run $PY "$T/ended.py" 2>&1)
is "$out" "4 True ['main', 'late'] True" \
    "a background job holding stdout: wait returns, its output follows (as locally)"

# ---- a file a command made is seen at once -----------------------------------

cat > "$T/fresh.py" <<'P'
import os, subprocess
print("before:", os.path.exists("made.txt"))
subprocess.run(["sh", "-c", "echo made > made.txt; echo more >> data.txt"])
print("after:", open("made.txt").read().strip(), open("data.txt").read().split())
P
echo first > "$R/ws/data.txt"
out=$(zmx_run bash -c "cat data.txt > /dev/null; $PY '$T/fresh.py'" 2>&1)
is "$(echo $out)" "before: False after: made ['first', 'more']" \
    "a file a command made or changed is read fresh right after"

# ---- every way to start a command ------------------------------------------------

if cc -o "$T/spawner" "$top/tests/progs/spawner.c" 2>"$T/cc.err"; then
	for way in execve execv execvp execvpe execl execlp execle \
	    posix_spawn posix_spawnp system popen vfork; do
		case $way in
		execvp|execvpe|execlp|posix_spawnp) prog=hostname ;;
		system|popen) prog="hostname; exit 4" ;;
		*) prog=/bin/hostname ;;
		esac
		out=$(zmx_run "$T/spawner" $way $prog 2>&1)
		case $way in
		system) want="zmx-remote system: exit 4" ;;
		popen) want="popen read: zmx-remote popen: exit 4" ;;
		*) want="zmx-remote $way: exit 0" ;;
		esac
		is "$(echo $out)" "$want" "$way runs the command remotely"
	done
	sigs='grep -E "^Sig(Blk|Ign)" /proc/self/status'
	a=$(zmx_run "$T/spawner" posix_spawnp sh -c "$sigs" 2>&1 | tr '\n' ' ')
	b=$(zmx_run "$T/spawner" execvp sh -c "$sigs" 2>&1 | tr '\n' ' ')
	is "${a% posix_spawnp*}" "${b% execvp*}" \
	    "posix_spawn passes the program's signal state, not zmx-exec's"
	out=$(zmx_run "$T/spawner" execve ./noexec 2>&1)
	is "$out" "execve: error Permission denied" "execve of a non-executable: EACCES from agentd"
	out=$(zmx_run "$T/spawner" vfork ./missing 2>&1)
	is "$out" "vfork: exit 127" "vfork+execve of a missing program: ENOENT in the child"
else
	ok 1 "cannot build tests/progs/spawner.c: $(cat "$T/cc.err")"
fi

cat > "$T/procs.py" <<'P'
import os, subprocess
print(subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip())
p = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print(p.communicate("piped\n")[0].strip())
print("system", os.system("hostname > sys.txt") >> 8, open("sys.txt").read().strip())
P
out=$(zmx_run $PY "$T/procs.py" 2>&1)
is "$(echo $out)" "zmx-remote PIPED system 0 zmx-remote" \
    "python: subprocess.run, Popen with pipes, os.system"

if command -v node > /dev/null; then
	cat > "$T/procs.js" <<'J'
const cp = require("child_process");
console.log(cp.execSync("hostname").toString().trim());
cp.exec("uname -n", (e, out) => {
  console.log("exec", out.trim());
  const p = cp.spawn("sh", ["-c", "cat; exit 5"]);
  let got = "";
  p.stdout.on("data", d => got += d);
  p.on("close", code => console.log("spawn", got.trim(), code));
  p.stdin.end("through\n");
});
J
	out=$(zmx_run node "$T/procs.js" 2>&1)
	is "$(echo $out)" "zmx-remote exec zmx-remote spawn through 5" \
	    "node: execSync, exec, spawn with stdin and status"
else
	ok 0 "# SKIP no node"
fi

# ---- a program only the local side has is staged -------------------------------

if cc -static -o "$T/local-only/shello" "$R/ws/hello.c" 2>/dev/null; then
	out=$(ZMX_STATS=1 zmx_run bash -c "'$T/local-only/shello'; '$T/local-only/shello'" 2>"$T/stage1.err")
	is "$(echo $out)" "hello from zmx-remote hello from zmx-remote" \
	    "a static binary from a local-only path runs on agentd's side"
	like "$(cat "$T/stage1.err")" " stage [1-9]" "it was staged (the session sent STAGE)"
	n1=$(sed -n 's/.* stage \([0-9]*\).*/\1/p' "$T/stage1.err" | head -1)
	out=$(ZMX_STATS=1 zmx_run "$T/spawner" execve "$T/local-only/shello" 2>"$T/stage2.err")
	is "$(echo $out)" "hello from zmx-remote execve: exit 0" "run again in a new session"
	unlike "$(cat "$T/stage2.err")" " stage [0-9]" "the second session uploads nothing"
	# the digest is remembered across sessions (hashing a big binary
	# would stall each new session): one line, from the first
	is "$(grep -c "local-only/shello\$" "$XDG_CACHE_HOME/zmx/staged-digests" 2>&1)" 1 \
	    "the second session took the program's digest from the first's cache"
	diag "STAGE requests in the first session: ${n1:-?}"
else
	ok 0 "# SKIP no static libc to build a static binary"
fi

# ---- nothing is left behind on agentd -----------------------------------------

cat > "$T/kill9.py" <<'P'
import os, signal, subprocess, sys, time
p = subprocess.Popen(["sh", "-c", "sleep 301 & sleep 302"])
time.sleep(1.5)
print("running", flush=True)
sys.stdout.flush()
open(sys.argv[1], "w").write("x")
time.sleep(3)
os.kill(p.pid, signal.SIGKILL)      # zmx-exec, as an agent would
p.wait()
print("killed", p.returncode)
P
zmx_run $PY "$T/kill9.py" "$T/kill9.flag" > "$T/kill9.out" 2>&1 &
runner=$!
for _ in $(seq 1 100); do [ -e "$T/kill9.flag" ] && break; sleep 0.1; done
is "$(remote_count '^sleep 30[12]')" "2" "the command and its background child run on agentd"
for _ in $(seq 1 100); do grep -q killed "$T/kill9.out" && break; sleep 0.1; done
wait_gone '^sleep 30[12]'
ok $? "kill -9 of zmx-exec: its remote process tree is gone within seconds"
wait $runner

cat > "$T/timeout.py" <<'P'
import os, signal, subprocess, time
# an agent's timeout: SIGTERM to the process group, then SIGKILL
p = subprocess.Popen(["bash", "-c", "trap 'echo got TERM; exit 9' TERM; sleep 303 & wait"],
                     start_new_session=True, stdout=subprocess.PIPE, text=True)
time.sleep(1.5)
os.killpg(p.pid, signal.SIGTERM)
out = p.stdout.read()
print(out.strip(), p.wait())
P
out=$(zmx_run $PY "$T/timeout.py" 2>&1)
is "$(echo $out)" "got TERM 9" "SIGTERM to the process group reaches the remote command's trap"

cat > "$T/sigs.py" <<'P'
import os, signal, subprocess, time
for name in ("INT", "HUP", "QUIT", "USR1", "USR2"):
    p = subprocess.Popen(["bash", "-c", "trap 'echo got %s; exit 7' %s; sleep 307 > /dev/null & wait" % (name, name)],
                         stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    os.kill(p.pid, getattr(signal, "SIG" + name))   # zmx-exec's pid
    print(p.stdout.read().strip(), p.wait())
P
out=$(zmx_run $PY "$T/sigs.py" 2>&1)
is "$(echo $out)" "got INT 7 got HUP 7 got QUIT 7 got USR1 7 got USR2 7" \
    "INT, HUP, QUIT, USR1, USR2 sent to zmx-exec reach the remote command"

out=$(ZMX_TIMEOUT_MS=10000 timeout 20 "$B/zmx" run -e "$EP" -C "$WS" -- \
    bash -c 'sleep 304 > /dev/null 2>&1 & setsid sleep 304 > /dev/null 2>&1 < /dev/null & echo started' 2>&1)
like "$out" "started" "a background command with its streams elsewhere returns at once"

# after the session: nothing it started is left (agentd --linger 3)
wait_gone '^sleep 30[347]'
ok $? "no orphan on agentd once the session is over"

# ---- the rules: where a command runs -------------------------------------------

here=$(hostname)
out=$(ZMX_TIMEOUT_MS=10000 "$B/zmx" run -e "$EP" -C "$WS" --local-commands -- \
    bash -c 'hostname; cat .local-marker 2>/dev/null || echo absent' 2>&1)
is "$(echo $out)" "$here absent" \
    "--local-commands: commands run here, on the remote files"
out=$(ZMX_TIMEOUT_MS=10000 "$B/zmx" run -e "$EP" -C "$WS" \
    --local-command hostname -- bash -c 'hostname; uname -n' 2>&1)
is "$(echo $out)" "$here zmx-remote" "--local-command hostname: only it runs here"

# ---- a terminal: a remote pty ----------------------------------------------------

if command -v tmux > /dev/null; then
	sock=$T/tmux.sock
	tmux -S "$sock" new-session -d -x 80 -y 24 "env ZMX_TIMEOUT_MS=10000 '$B/zmx' run -e '$EP' -C '$WS' -- bash --norc -i" 2>/dev/null
	sleep 2
	tmux -S "$sock" send-keys "bash --norc -i" Enter
	sleep 2
	tmux -S "$sock" send-keys "hostname; tty; stty size" Enter
	sleep 1.5
	pane=$(tmux -S "$sock" capture-pane -p)
	like "$pane" "zmx-remote" "an interactive bash started in the remote cwd runs remotely"
	like "$pane" "/dev/pts/" "with a pty for its terminal"
	like "$pane" "24 80" "of the local terminal's size"
	tmux -S "$sock" resize-window -x 100 -y 30 2>/dev/null
	sleep 1
	tmux -S "$sock" send-keys "stty size" Enter
	sleep 1.5
	pane=$(tmux -S "$sock" capture-pane -p)
	like "$pane" "30 100" "stty size follows a resize (SIGWINCH forwarded)"
	tmux -S "$sock" send-keys "sleep 305" Enter
	sleep 2
	tmux -S "$sock" send-keys C-c
	sleep 1
	tmux -S "$sock" send-keys "echo after-sleep-\$?" Enter
	sleep 1.5
	pane=$(tmux -S "$sock" capture-pane -p)
	like "$pane" "after-sleep-130" "Ctrl-C interrupts the remote sleep"
	tmux -S "$sock" send-keys "exit" Enter
	sleep 1
	# back in the local shell: a pipe into a remote command whose
	# stdout is the terminal
	tmux -S "$sock" send-keys "echo hi | wc -c; tty -s < /dev/null; echo tty-\$?" Enter
	sleep 2
	pane=$(tmux -S "$sock" capture-pane -p)
	like "$pane" "^3\$" "a pipe into a remote command on a terminal: its stdin is the pipe"
	like "$pane" "tty-1" "a command whose stdin is not a terminal gets no pty"
	tmux -S "$sock" kill-server 2>/dev/null
else
	ok 0 "# SKIP no tmux"
fi

# ---- agentd's side: the audit log and the limit ---------------------------------

like "$(cat "$T/audit.log")" "hostname" "agentd's audit log names the commands"
# a command that ends before agentd saw its exec confirmed is audited too
n=$(zmx_run $PY -c '
import subprocess
print(sum(subprocess.run(["/bin/true", "audit-me"]).returncode == 0 for _ in range(100)))' 2>&1)
is "$n $(grep -c 'op=command.*argv=/bin/true,audit-me exit=0' "$T/audit.log")" \
    "100 100" "100 fast commands: each has its audit line"

local_untouched
done_testing
