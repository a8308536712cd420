#!/bin/bash
# Open remote files follow the program through what it does to them and
# around them: a subprocess (vfork) while a file is dirty, exec with a
# close-on-exec file, renaming the directory a file is open in; and
# creates honour the umask, "link/" and lstat-after-stat mean what the
# kernel says they mean.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no /usr/bin/python3"

mkdir -p "$R/ws/realdir"
echo inside > "$R/ws/realdir/f"
ln -s realdir "$R/ws/ld"
echo plain > "$R/ws/file"
zmx_start_agentd

out=$(ZMX_TIMEOUT_MS=3000 zmx_run "$PY" -c '
import subprocess
f = open("v.txt", "w"); f.write("one"); f.flush()
subprocess.run(["true"])           # vfork, close_range, exec in the child
f.write("two"); f.close()
print("done")' 2>&1)
is "$out" "done" "a subprocess while a file is dirty: no error (a hang would be EIO after 3 s)"
is "$(cat "$R/ws/v.txt" 2>&1)" "onetwo" "the parent still writes the file back whole"

zmx_run "$PY" -c '
import os
f = open("cx.txt", "w"); f.write("before exec"); f.flush()
os.execv("/bin/true", ["true"])' 2>&1
is "$(cat "$R/ws/cx.txt" 2>&1)" "before exec" \
    "a close-on-exec file is written back before exec"

out=$(zmx_run "$PY" -c '
import os
os.mkdir("d")
f = open("d/x", "w")
os.rename("d", "e")
f.write("moved"); f.close()
print(sorted(os.listdir("e")))' 2>&1)
is "$out" "['x']" "a file open in a renamed directory follows it"
is "$(cat "$R/ws/e/x" 2>&1)" "moved" "and is written back under the new name"
ok $([ ! -e "$R/ws/d" ]; echo $?) "the old directory name did not come back"

zmx_run bash -c 'umask 077; echo secret > s.txt; mkdir sd' 2>&1
is "$(stat -c '%a' "$R/ws/s.txt" "$R/ws/sd" | tr '\n' ' ')" "600 700 " \
    "remote creates honour the umask (600 and 700)"
zmx_run bash -c 'umask 022; echo open > o.txt' 2>&1
is "$(stat -c %a "$R/ws/o.txt")" 644 "umask 022 gives 644"

out=$(zmx_run ls ld/ 2>&1)
is "$out" "f" "ls link/ lists the directory the link leads to"
out=$(zmx_run stat -c %F file/ 2>&1)
like "$out" "Not a directory" "file/ is ENOTDIR, as on the kernel"
out=$(zmx_run "$PY" -c '
import os
os.stat("ld")
print(os.path.islink("ld"), os.path.isdir("ld"))' 2>&1)
is "$out" "True True" "lstat right after stat still sees the symlink"

# A new file is made by its write-back (ZMX_O_LAZY), yet the program
# and its children see it while it is open, as on a local disk.
out=$(zmx_run sh -c 'exec 3>lazy.txt
	[ -e lazy.txt ] && echo "test -e: yes"
	ls lazy.txt
	echo hi >&3
	cat lazy.txt
	rm lazy.txt && echo "rm: ok"
	[ -e lazy.txt ] || echo "gone"
	exec 3>&-' 2>&1)
is "$out" "$(printf '%s\n' 'test -e: yes' lazy.txt hi 'rm: ok' gone)" \
    "a file open for writing is there for the shell, ls, cat and rm"
ok $([ ! -e "$R/ws/lazy.txt" ]; echo $?) "and removed remotely, not made again at close"
out=$(zmx_run "$PY" -c '
import os
fd = os.open("lazy2.txt", os.O_WRONLY | os.O_CREAT, 0o640)
os.fchmod(fd, 0o600)
os.write(fd, b"x")
print(oct(os.stat("lazy2.txt").st_mode & 0o777), os.path.getsize("lazy2.txt"))
os.close(fd)' 2>&1)
is "$out" "0o600 1" "fchmod and stat of a new file before its close"
is "$(stat -c '%a %s' "$R/ws/lazy2.txt" 2>&1)" "600 1" "and so it is remotely after"

local_untouched
done_testing
