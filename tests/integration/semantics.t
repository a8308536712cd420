#!/bin/bash
# Remote paths behave as on a local disk where programs can tell: a remote
# directory's fd is a directory (read says EISDIR), /proc/self/fd/N and
# /proc/self/cwd name the remote path, the cwd is physical (cd -P, pwd -P,
# getcwd), and a storm of vfork+exec'd children all see the right files.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"
export LC_ALL=C

mkdir -p "$R/ws/d/sub" "$R/ws/real/deep"
printf 'in d\n' > "$R/ws/d/inner"
printf 'hello\n' > "$R/ws/f"
printf 'in real\n' > "$R/ws/real/x"
for i in 0 1 2 3 4 5 6 7 8 9; do
	head -c $((i * 37 + 1)) /dev/zero | tr '\0' "$i" > "$R/ws/n$i"
done
zmx_start_agentd

# The same commands on a local disk, for comparison: $T/local holds what
# the workspace holds; its path is shown as the workspace's.
L=$T/local
mkdir -p "$L"
cp -a "$R/ws/." "$L/"
locally() {
	(cd "$L" && bash -c "$1" 2>&1) | sed "s|$L|$WS|g"
}
remote_before=$(snapshot "$R/ws")

mkdir -p "$T/py"
py() {
	printf '%s\n' "$2" > "$T/py/t_$1.py"
}

# ---- a remote directory's fd is a directory --------------------------------

script='head d; echo "head $?"; cat d; echo "cat $?"; grep x d; echo "grep $?"'
out=$(zmx_run bash -c "$script" 2>&1)
is "$out" "$(printf "head: error reading 'd': Is a directory\nhead 1\ncat: d: Is a directory\ncat 1\ngrep: d: Is a directory\ngrep 2")" \
    "head, cat and grep of a remote directory say EISDIR"
is "$out" "$(locally "$script")" "as they do on a local disk"

py dirfd '
import os, stat
fd = os.open("d", os.O_RDONLY)
try:
    os.read(fd, 10)
    print("read: no error")
except OSError as e:
    print("read:", e.strerror)
print("fstat-isdir:", stat.S_ISDIR(os.fstat(fd).st_mode))
print("size-at:", os.stat("inner", dir_fd=fd).st_size)
print("listdir-fd:", sorted(os.listdir(fd)))
with open(os.open("inner", os.O_RDONLY, dir_fd=fd)) as f:
    print("openat:", f.read().strip())
os.fchdir(fd)
print("fchdir-cwd:", os.getcwd())
print("relative:", open("inner").read().strip())
os.close(fd)
os.chdir("..")
p = os.open("d", os.O_PATH)
try:
    os.read(p, 1)
    print("opath-read: no error")
except OSError as e:
    print("opath-read:", e.strerror)
print("opath-isdir:", stat.S_ISDIR(os.fstat(p).st_mode))
print("opath-at:", os.stat("inner", dir_fd=p).st_size)
os.fchdir(p)
print("opath-fchdir:", os.getcwd(), sorted(os.listdir(".")))
try:
    os.open(".", os.O_RDWR)
    print("rdwr: no error")
except OSError as e:
    print("rdwr:", e.strerror)
'
out=$(zmx_run "$PY" "$T/py/t_dirfd.py" 2>&1)
is "$out" "read: Is a directory
fstat-isdir: True
size-at: 5
listdir-fd: ['inner', 'sub']
openat: in d
fchdir-cwd: $WS/d
relative: in d
opath-read: Bad file descriptor
opath-isdir: True
opath-at: 5
opath-fchdir: $WS/d ['inner', 'sub']
rdwr: Is a directory" \
    "python: a remote directory fd reads EISDIR and serves fstat, *at, listdir, fchdir; O_PATH too"

# an fd inherited across exec is taken over by the new program
script='exec 3<d; ls /proc/self/fd/3/; wc -c <&3; echo "wc $?"'
out=$(zmx_run bash -c "$script" 2>&1)
is "$out" "$(printf "inner\nsub\nwc: 'standard input': Is a directory\n0\nwc 1")" \
    "a directory fd inherited across exec lists the remote directory and reads EISDIR"
is "$out" "$(locally "$script")" "as on a local disk"

out=$(zmx_run sh -c 'exec 3<d; ls -A "$ZMX_SESSION_DIR"' 2>&1)
is "$out" "sock" "no directory made for an fd is left behind in the session's directory"

# ---- /proc links name the remote path --------------------------------------

py proc '
import os, threading
d = os.open("d", os.O_RDONLY)
f = os.open("f", os.O_RDONLY)
pid = os.getpid()
print("self-dir:", os.readlink("/proc/self/fd/%d" % d))
print("self-file:", os.readlink("/proc/self/fd/%d" % f))
print("pid-dir:", os.readlink("/proc/%d/fd/%d" % (pid, d)))
print("pid-file:", os.readlink("/proc/%d/fd/%d" % (pid, f)))
print("thread-self:", os.readlink("/proc/thread-self/fd/%d" % f))
def t():
    print("in-thread:", os.readlink("/proc/thread-self/fd/%d" % d))
th = threading.Thread(target=t); th.start(); th.join()
print("realpath-file:", os.path.realpath("/proc/self/fd/%d" % f))
print("realpath-dir:", os.path.realpath("/proc/%d/fd/%d" % (pid, d)))
print("content-via-link:", open("/proc/self/fd/%d" % f).read().strip())
print("inner-via-link:", open("/proc/self/fd/%d/inner" % d).read().strip())
os.chdir("d")
print("cwd-self:", os.readlink("/proc/self/cwd"))
print("cwd-pid:", os.readlink("/proc/%d/cwd" % pid))
print("cwd-list:", sorted(os.listdir("/proc/self/cwd")))
print("cwd-realpath:", os.path.realpath("/proc/self/cwd/sub"))
os.chdir("/")
print("cwd-local:", os.readlink("/proc/self/cwd"))
'
out=$(zmx_run "$PY" "$T/py/t_proc.py" 2>&1)
is "$out" "self-dir: $WS/d
self-file: $WS/f
pid-dir: $WS/d
pid-file: $WS/f
thread-self: $WS/f
in-thread: $WS/d
realpath-file: $WS/f
realpath-dir: $WS/d
content-via-link: hello
inner-via-link: in d
cwd-self: $WS/d
cwd-pid: $WS/d
cwd-list: ['inner', 'sub']
cwd-realpath: $WS/d/sub
cwd-local: /" \
    "readlink and realpath of /proc/self, /proc/PID and /proc/thread-self fd and cwd links"

out=$(zmx_run bash -c 'exec 3<d 4<f; readlink /proc/self/fd/3 /proc/self/fd/4;
    readlink -f /proc/self/fd/4; realpath /proc/self/fd/3;
    ls -l /proc/self/fd/ | grep -o "[34] -> .*"; cd d; readlink /proc/self/cwd' 2>&1)
is "$out" "$WS/d
$WS/f
$WS/f
$WS/d
3 -> $WS/d
4 -> $WS/f
$WS/d" "readlink, readlink -f, realpath and ls -l of /proc/self links"

# ---- the cwd is physical ---------------------------------------------------

out=$(zmx_run ln -s real link 2>&1)
is "$out" "" "ln -s real link"
is "$(readlink "$R/ws/link")" "real" "made the link remotely"
ln -s real "$L/link"

script='cd -P link; pwd; pwd -P; cd ..; cd link; pwd; pwd -P; /bin/pwd
    /bin/pwd -L; python3 -c "import os; print(os.getcwd())"; cat x
    cd ..; cd link/..; pwd; cd link/deep; pwd; pwd -P; cd ../..; pwd
    cd f; cd nosuch; cd -P link; cd deep; pwd'
out=$(zmx_run bash -c "$script" 2>&1)
is "$out" "$WS/real
$WS/real
$WS/link
$WS/real
$WS/real
$WS/link
$WS/real
in real
$WS
$WS/link/deep
$WS/real/deep
$WS
bash: line 4: cd: f: Not a directory
bash: line 4: cd: nosuch: No such file or directory
$WS/real/deep" "cd -P, pwd -P and getcwd through a remote symlink"
is "$out" "$(locally "$script")" "as on a local disk"

# ---- a storm of vfork+exec -------------------------------------------------

py storm '
import subprocess, concurrent.futures as cf
want = {i: open("n%d" % i).read() for i in range(10)}
def one(k):
    i = k % 10
    if k % 4 == 3:
        r = subprocess.run(["cat", "inner"], cwd="d", capture_output=True)
        return r.returncode == 0 and r.stdout == b"in d\n"
    r = subprocess.run(["cat", "n%d" % i], capture_output=True)
    return r.returncode == 0 and r.stdout.decode() == want[i]
with cf.ThreadPoolExecutor(4) as ex:
    res = list(ex.map(one, range(200)))
print("right:", sum(res), "of", len(res))
'
out=$(zmx_run "$PY" "$T/py/t_storm.py" 2>&1)
is "$out" "right: 200 of 200" \
    "python: 200 cat children from 4 threads (vfork+exec), each read its remote file"

script='for i in $(seq 0 499); do stat -c "%s %n" n$((i % 10)); done |
    sort | uniq -c'
out=$(zmx_run bash -c "$script" 2>&1)
is "$out" "$(locally "$script")" "bash: 500 stat commands, every answer right"
like "$out" "^ +50 1 n0" "and they saw the remote sizes"

# (link is the test's own; the top directory's size counts it on tmpfs)
is "$(snapshot "$R/ws" | grep -v -e '^./link ' -e '^\. d ')" \
    "$(printf '%s\n' "$remote_before" | grep -v -e '^./link ' -e '^\. d ')" \
    "nothing else changed remotely"
local_untouched
done_testing
