#!/bin/bash
# A remote file keeps what makes it itself: reading it leaves its atime,
# times set by a program are set field by field, and a write-back keeps
# its inode (hard links), owner, mode and extended attributes; FIFOs and
# sparse files arrive as such. Every check is made remotely, with real
# tools in agentd's namespace (zmx_remote).
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"
command -v nsenter >/dev/null || skip_all "no nsenter"
command -v getfattr >/dev/null && command -v setfattr >/dev/null ||
	skip_all "no getfattr and setfattr (attr; scripts/install-deps)"
export TZ=UTC

printf 'old times\n' > "$R/ws/t.txt"
printf 'target\n' > "$R/ws/target.txt"
ln -s target.txt "$R/ws/tlink"
mkdir "$R/ws/times"
for f in utime utime-null utimes futimes futimesat omit-a omit-m now-m \
    lutimes-target; do
	echo "$f" > "$R/ws/times/$f"
done
ln -s lutimes-target "$R/ws/times/lutimes"
touch -h -d 1990-01-01 "$R/ws/times"/*
zmx_start_agentd

# ---- times ---------------------------------------------------------------

y2001=$(date -d 2001-01-01 +%s)
y2002=$(date -d 2002-02-02 +%s)
zmx_run touch -a -d 2001-01-01 t.txt
is "$(zmx_remote stat -c %X t.txt)" "$y2001" "touch -a -d sets the remote atime"
out=$(zmx_run sh -c 'cat t.txt; stat -c %X t.txt' 2>&1)
is "$out" "$(printf 'old times\n%s' "$y2001")" \
    "cat reads the file, and stat still shows the atime touch set"
is "$(zmx_remote stat -c %X t.txt)" "$y2001" \
    "reading it through agentd left the remote atime alone (O_NOATIME)"
zmx_remote touch -a -d 2001-01-01 .
zmx_run ls >/dev/null
is "$(zmx_remote stat -c %X .)" "$y2001" "listing a directory leaves its atime"

atime_before=$(zmx_remote stat -c %X t.txt)
zmx_run touch -m -d 2002-02-02 t.txt
is "$(zmx_remote stat -c '%X %Y' t.txt)" "$atime_before $y2002" \
    "touch -m -d sets the mtime and leaves the atime (UTIME_OMIT per field)"

zmx_run touch -h -d 2002-02-02 tlink
is "$(zmx_remote stat -c %Y tlink)" "$y2002" "touch -h sets the symlink's own mtime"
unlike "$(zmx_remote stat -c %Y target.txt)" "^$y2002\$" \
    "and not its target's"

out=$(zmx_run "$PY" -c '
import os
os.utime("t.txt", ns=(1000000000123456789, 1100000000987654321))
st = os.stat("t.txt")
print(st.st_atime_ns, st.st_mtime_ns)
fd = os.open("t.txt", os.O_RDONLY)
os.utime(fd, ns=(1200000000000000001, 1300000000000000002))
print(os.fstat(fd).st_atime_ns, os.fstat(fd).st_mtime_ns)
os.close(fd)' 2>&1)
is "$out" "$(printf '%s\n%s' '1000000000123456789 1100000000987654321' \
    '1200000000000000001 1300000000000000002')" \
    "os.utime by path and by fd, to the nanosecond, as stat and fstat see it"
is "$(zmx_remote stat -c '%.9X %.9Y' t.txt)" \
    "1200000000.000000001 1300000000.000000002" \
    "futimens on the remote fd landed, nanoseconds too"

# every libc call that sets times, one file each (tests/progs/times.c)
top=$(cd "$(dirname "$0")/../.." && pwd)
if cc -o "$T/times" "$top/tests/progs/times.c"; then
	out=$(zmx_run sh -c 'cd times && exec "$1"' sh "$T/times" 2>&1)
	is "$out" "" "utime, utimes, lutimes, futimes, futimesat, utimensat, futimens: no error"
	old=631152000.000000000
	is "$(zmx_remote sh -c 'cd times && stat -c "%n %.9X %.9Y" utime utimes \
	    lutimes lutimes-target futimes futimesat omit-a omit-m')" \
	    "$(printf '%s\n' "utime 1000000001.000000000 1000000002.000000000" \
	    "utimes 1000000003.000004000 1000000005.000006000" \
	    "lutimes 1000000003.000004000 1000000005.000006000" \
	    "lutimes-target $old $old" \
	    "futimes 1000000003.000004000 1000000005.000006000" \
	    "futimesat 1000000003.000004000 1000000005.000006000" \
	    "omit-a $old 1000000007.000000008" \
	    "omit-m 1000000009.000000010 $old")" \
	    "each call's times land remotely, per field; lutimes on the link only"
	now=$(date +%s)
	set -- $(zmx_remote stat -c '%X %Y' times/utime-null) \
	    $(zmx_remote stat -c '%.9X %Y' times/now-m)
	ok $([ $(($1 - now)) -le 0 ] && [ $(($1 - now)) -gt -60 ] && \
	    [ "$2" = "$1" ]; echo $?) "utime(NULL) sets both to now ($1 $2)"
	ok $([ "$3" = 1000000011.000000012 ] && [ $(($4 - now)) -le 0 ] &&
	    [ $(($4 - now)) -gt -60 ]; echo $?) \
	    "UTIME_NOW in the mtime only: atime as given, mtime now ($3 $4)"
else
	ok 0 "# SKIP cannot build tests/progs/times.c"
fi

# ---- extended attributes ---------------------------------------------------

printf 'x\n' > "$R/ws/x.txt"
ln -s x.txt "$R/ws/xlink"
zmx_remote setfattr -n user.remote -v there x.txt
out=$(zmx_run getfattr -d x.txt 2>&1)
is "$out" "$(printf '# file: x.txt\nuser.remote="there"')" \
    "getfattr -d lists and reads a remote file's attributes"
zmx_run setfattr -n user.a -v hello x.txt
is "$(zmx_remote getfattr -n user.a --only-values x.txt)" hello \
    "setfattr -n -v sets one remotely"
zmx_run setfattr -x user.remote x.txt
is "$(zmx_remote getfattr -d -m - x.txt | grep -c user.remote)" 0 \
    "setfattr -x removes one remotely"
out=$(zmx_run getfattr -n user.nosuch x.txt 2>&1)
like "$out" "No such attribute" "getfattr of a missing one: ENODATA"
out=$(zmx_run getfattr -h -d xlink 2>&1)
is "$out" "" "getfattr -h: the symlink itself has none"
out=$(zmx_run getfattr -d xlink 2>&1)
like "$out" 'user\.a="hello"' "getfattr follows the symlink by default"

cat > "$T/xattr.py" <<'SCRIPT'
import errno, os
big = b"v" * 300
os.setxattr("x.txt", "user.big", big)
print("get:", os.getxattr("x.txt", "user.big") == big)
print("list:", sorted(os.listxattr("x.txt")))
fd = os.open("x.txt", os.O_RDONLY)
print("fd:", os.getxattr(fd, "user.a"), sorted(os.listxattr(fd)))
os.setxattr(fd, "user.byfd", b"")
os.close(fd)
for what, call in [
    ("create-existing", lambda: os.setxattr("x.txt", "user.a", b"1",
        os.XATTR_CREATE)),
    ("replace-missing", lambda: os.setxattr("x.txt", "user.none", b"1",
        os.XATTR_REPLACE)),
    ("get-missing", lambda: os.getxattr("x.txt", "user.none")),
    ("remove-missing", lambda: os.removexattr("x.txt", "user.none")),
    ("too-big", lambda: os.setxattr("x.txt", "user.huge", b"h" * 70000)),
    ("long-name", lambda: os.getxattr("x.txt", "user." + "n" * 300)),
    ("bad-namespace", lambda: os.setxattr("x.txt", "nonsense.x", b"1")),
    ("on-symlink", lambda: os.setxattr("xlink", "user.l", b"1",
        follow_symlinks=False)),
]:
    try:
        call()
        print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
os.setxattr("x.txt", "user.a", b"replaced", os.XATTR_REPLACE)
os.removexattr("x.txt", "user.big")
print("nofollow-list:", os.listxattr("xlink", follow_symlinks=False))
print("follow-list:", sorted(os.listxattr("xlink")))
SCRIPT
out=$(zmx_run "$PY" "$T/xattr.py" 2>&1)
is "$out" "get: True
list: ['user.a', 'user.big']
fd: b'hello' ['user.a', 'user.big']
create-existing EEXIST
replace-missing ENODATA
get-missing ENODATA
remove-missing ENODATA
too-big E2BIG
long-name ERANGE
bad-namespace ENOTSUP
on-symlink EPERM
nofollow-list: []
follow-list: ['user.a', 'user.byfd']" \
    "os.setxattr, getxattr (300 bytes: the size probe), listxattr, removexattr, by path and fd, with the kernel's errors"
mkdir "$T/lx"
printf 'x\n' > "$T/lx/x.txt"
ln -s x.txt "$T/lx/xlink"
setfattr -n user.a -v hello "$T/lx/x.txt"
is "$(cd "$T/lx" && "$PY" "$T/xattr.py" 2>&1)" "$out" \
    "the same script on a local directory prints the same"
is "$(zmx_remote getfattr -d x.txt 2>&1)" "$(printf '%s\n' '# file: x.txt' \
    'user.a="replaced"' 'user.byfd=""')" \
    "and remotely they are as python left them"
like "$(grep -c 'op=setxattr path=[^ ]*/x.txt to=user.a result=ok' \
    "$T/audit.log")" '^[1-9]' "setxattr is audited with the attribute's name"

# a listing says which entries have no extended attributes at all, so the
# labels and ACLs ls -l asks about for every file cost no round trip; a
# file that has some is asked
zmx_remote setfattr -n security.zmx -v label x.txt
out=$(ZMX_STATS=1 zmx_run "$PY" -c '
import errno, os
os.listdir(".")
for n in ("t.txt", "x.txt", "tlink"):
    try:
        print(n, os.getxattr(n, "security.zmx", follow_symlinks=False))
    except OSError as e:
        print(n, errno.errorcode[e.errno])
print(os.listxattr("t.txt"))' 2>&1)
is "$(printf '%s\n' "$out" | grep -v '^zmx: stats')" \
    "$(printf '%s\n' "t.txt ENODATA" "x.txt b'label'" "tlink ENODATA" "[]")" \
    "security.* read after a listing: the file that has it shows it"
like "$out" "zmx: stats: .* getxattr 1( |;|\$)" \
    "only that file's cost a round trip"
unlike "$out" "listxattr" "and the empty list none"

echo local > "$T/local.txt"
zmx_run setfattr -n user.here -v local "$T/local.txt"
is "$(getfattr -n user.here --only-values "$T/local.txt" 2>/dev/null)" local \
    "a local file's attributes stay local"

# ---- write-back: identity --------------------------------------------------

# two names, one inode: a program that rewrites the file in place keeps
# both names on it, as locally
printf 'one\n' > "$R/ws/h1"
ln "$R/ws/h1" "$R/ws/h2"
ino=$(stat -c %i "$R/ws/h1")
out=$(zmx_run "$PY" -c '
with open("h1", "r+") as f:
    old = f.read()
    f.seek(0)
    f.write("rewritten by python\n")
    f.truncate()
print(old.strip())' 2>&1)
is "$out" one "python r+ read the old content"
is "$(zmx_remote stat -c '%i %h' h1 h2 | tr '\n' ' ')" "$ino 2 $ino 2 " \
    "both names are still one inode with 2 links (the write-back went in place)"
is "$(zmx_remote cat h2)" "rewritten by python" "the other name sees the new content"
is "$(ls -a "$R/ws" | grep -c '\.zmx-')" 0 "no temp file is left behind"
last=python
if command -v ed >/dev/null; then
	out=$(printf ',s/python/ed/\nw\nq\n' | zmx_run ed -s h2 2>&1)
	is "$out" "" "ed edits h2"
	is "$(zmx_remote sh -c 'stat -c "%i %h" h1; cat h1')" \
	    "$(printf '%s 2\nrewritten by ed' "$ino")" \
	    "ed's write kept the inode: h1 shows ed's change"
	last=ed
else
	ok 0 "# SKIP no ed (scripts/install-deps)"
	ok 0 "# SKIP no ed (scripts/install-deps)"
fi
zmx_run sed -i 's/rewritten/replaced/' h1
is "$(zmx_remote sh -c 'stat -c %h h1 h2; cat h1 h2')" \
    "$(printf '1\n1\nreplaced by %s\nrewritten by %s' $last $last)" \
    "sed -i renames a new file over h1: the link breaks, as locally"

# owner, mode and extended attributes survive a rewrite by rename
printf 'keep me\n' > "$R/ws/id.txt"
chown 4242:4343 "$R/ws/id.txt"
chmod 640 "$R/ws/id.txt"
zmx_run setfattr -n user.x -v 1 id.txt
zmx_remote setfattr -n trusted.t -v secret id.txt
ino=$(stat -c %i "$R/ws/id.txt")
zmx_run "$PY" -c 'open("id.txt", "w").write("new\n")'
is "$(zmx_remote cat id.txt)" new "python open(w) rewrote id.txt"
unlike "$(zmx_remote stat -c %i id.txt)" "^$ino\$" "as a new inode (one link: renamed)"
is "$(zmx_remote stat -c '%u:%g %a' id.txt)" "4242:4343 640" \
    "the new file has the old owner, group and mode"
is "$(zmx_remote getfattr -d -m - id.txt 2>/dev/null | sed 1d)" \
    "$(printf '%s\n' 'trusted.t="secret"' 'user.x="1"')" \
    "and its extended attributes (user.* and trusted.*)"
zmx_run sh -c 'umask 022; exec "$1" -c "open(\"new.txt\", \"w\").write(\"x\")"' \
    sh "$PY"
is "$(zmx_remote stat -c '%a %h' new.txt)" "644 1" \
    "a new file gets the program's mode (umask 022)"

# ---- FIFOs and other special files -----------------------------------------

out=$(zmx_run sh -c 'umask 027; mkfifo p; [ -p p ] && echo "test -p: yes"' 2>&1)
is "$out" "test -p: yes" "mkfifo makes a remote FIFO, and the shell sees one"
is "$(zmx_remote stat -c '%F %a' p)" "fifo 640" \
    "remotely it is a fifo, with the umask applied"
out=$(zmx_run "$PY" -c '
import errno, os, stat
os.mkfifo("p2", 0o600)
os.mknod("empty", 0o600 | stat.S_IFREG)
for what, call in [
    ("again", lambda: os.mkfifo("p2")),
    ("device", lambda: os.mknod("dev", 0o600 | stat.S_IFCHR,
        os.makedev(1, 3))),
    ("open", lambda: os.open("p2", os.O_RDONLY)),
]:
    try:
        call()
        print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
' 2>&1)
is "$out" "$(printf '%s\n' 'again EEXIST' 'device EPERM' 'open ENOTSUP')" \
    "os.mkfifo twice is EEXIST, a device EPERM, opening a remote FIFO ENOTSUP"
is "$(zmx_remote stat -c '%n %F %a %s' p2 empty)" \
    "$(printf 'p2 fifo 600 0\nempty regular empty file 600 0')" \
    "os.mkfifo and os.mknod(S_IFREG) made them remotely"
ok $([ ! -e "$R/ws/dev" ]; echo $?) "and no device node"
out=$(zmx_run timeout 10 cat p 2>&1; echo "status $?")
like "$out" "Operation not supported" "cat of a remote FIFO fails at once, saying why"
like "$out" "status 1\$" "(not a timeout)"
out=$(zmx_run mknod n p 2>&1 && zmx_remote stat -c %F n)
is "$out" "fifo" "mknod NAME p"
like "$(grep -c 'op=mknod path=[^ ]*/p2 result=ok' "$T/audit.log")" '^1$' \
    "mknod is audited"

# ---- write-back: size, holes, times ---------------------------------------

# a sparse file copied in: the write-back sends only the data (SEEK_DATA
# on the memfd), and the size makes the trailing hole
truncate -s 10M "$T/sparse.src"
printf 'middle' | dd of="$T/sparse.src" bs=1 seek=5000000 conv=notrunc \
    status=none
zmx_run cp --sparse=always "$T/sparse.src" sparse
is "$(zmx_remote stat -c %s sparse)" 10485760 "cp --sparse=always: the size arrived"
is "$(zmx_remote cmp "$T/sparse.src" sparse 2>&1)" "" "and the content"
blocks=$(zmx_remote stat -c %b sparse)
ok $([ "$blocks" -le 64 ]; echo $?) \
    "and it stayed sparse remotely ($blocks blocks of 512 bytes, not 20480)"
is "$(zmx_remote du -k sparse | cut -f1)" "$(du -k "$T/sparse.src" | cut -f1)" \
    "du shows the same as for the local original"

REQ="$B/tests/zmxreq"
req() {
	"$REQ" -e "$EP" -T 3000 "$@" 2>&1
}
# PUT sets the times it is given at COMMIT, after the content; ones left
# out (omit) are what a write in place leaves: the old atime, the mtime of
# the write
printf 'old\n' > "$R/ws/put.txt"
touch -d 1990-01-01 "$R/ws/put.txt"
out=$(req put "$WS/put.txt" 'new content' begin,commit 0 644 11 \
    1000000001 5 1000000002 6)
like "$out" "^ATTR " "PUT with times: ATTR"
is "$(zmx_remote stat -c '%s %.9X %.9Y' put.txt)" \
    "11 1000000001.000000005 1000000002.000000006" \
    "the times and size landed with the new content"
out=$(req put "$WS/put.txt" 'again' begin,commit 0 644 5 0 omit 0 omit)
now=$(date +%s)
set -- $(zmx_remote stat -c '%.9X %Y' put.txt)
ok $([ "$1" = 1000000001.000000005 ] && [ $(($2 - now)) -le 0 ] && \
    [ $(($2 - now)) -gt -60 ]; echo $?) \
    "omitted: the replaced file's atime kept, the mtime now ($1 $2)"
out=$(req put "$WS/put.txt" x begin,commit 0 644 1 0 1000000000 0 omit)
like "$out" "EINVAL" "nanoseconds out of range: EINVAL"
out=$(req put "$WS/put.txt" ab begin 0 :: put "$WS/put.txt" yz commit 8192 \
    644 10000)
{ printf ab; head -c 8190 /dev/zero; printf yz; head -c 1806 /dev/zero; } \
    > "$T/gap.want"
is "$(zmx_remote cmp "$T/gap.want" put.txt 2>&1)" "" \
    "a gap between chunks reads as zeros, the size extends the end"

# the same into a file with two links: copied in place, holes and all
printf 'old\n' > "$R/ws/g1"
ln "$R/ws/g1" "$R/ws/g2"
ino=$(stat -c %i "$R/ws/g1")
out=$(req put "$WS/g1" ab begin 0 :: put "$WS/g1" yz commit 4194304 644 \
    8388608 1000000001 5 0 omit)
like "$out" "ATTR .* nlink=2" "PUT into a file with two links: ATTR, still 2 links"
{ printf ab; head -c 4194302 /dev/zero; printf yz; head -c 4194302 /dev/zero; } \
    > "$T/gap2.want"
is "$(zmx_remote sh -c 'stat -c "%i %h %s %.9X" g2 && cmp "$1" g2' sh \
    "$T/gap2.want" 2>&1)" "$ino 2 8388608 1000000001.000000005" \
    "the other name shows the new content, size and atime, same inode"
blocks=$(zmx_remote stat -c %b g2)
ok $([ "$blocks" -le 64 ]; echo $?) \
    "the holes stayed holes through the copy ($blocks blocks, not 16384)"
is "$(ls -a "$R/ws" | grep -c '\.zmx-')" 0 "and the temp file is gone"

local_untouched
done_testing
