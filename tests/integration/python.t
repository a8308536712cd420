#!/bin/bash
# python3 through the portal: open, os, pathlib, tempfile and shutil see and
# change only the remote workspace and the remote /tmp.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"

mkdir -p "$R/ws/sub/deeper" "$R/ws/tree/a/b" "$R/ws/junk/x/y"
printf 'hello from remote\n' > "$R/ws/hello.txt"
printf 'print(1)\n' > "$R/ws/one.py"
printf 'print(2)\n' > "$R/ws/two.py"
printf 's1\n' > "$R/ws/sub/s1.txt"
printf 's2\n' > "$R/ws/sub/deeper/s2.txt"
printf 'tree-a\n' > "$R/ws/tree/a/fa"
printf 'tree-b\n' > "$R/ws/tree/a/b/fb"
ln -s fa "$R/ws/tree/a/link"
printf 'junk\n' > "$R/ws/junk/x/y/j"
printf 'bye\n' > "$R/ws/gone.txt"
printf 'old\n' > "$R/ws/replace-me.txt"
printf 'new\n' > "$R/ws/replacement.txt"
head -c 100000 /dev/urandom > "$R/ws/big.bin"
printf '#!/bin/sh\n' > "$R/ws/script.sh"
chmod 644 "$R/ws/script.sh"
zmx_start_agentd

# The scripts live on the local side, outside the workspace: python3 and its
# standard library are the agent's runtime and stay local.
mkdir -p "$T/py"

# py NAME BODY: writes $T/py/t_NAME.py (the prefix: a script named
# pathlib.py would shadow the module it imports)
py() {
	printf '%s\n' "$2" > "$T/py/t_$1.py"
}

# field KEY: the value printed as "KEY: value" in $out
field() {
	printf '%s\n' "$out" | sed -n "s/^$1: //p"
}

# ---- files and os ---------------------------------------------------------

py basic '
import os
print("cwd:", os.getcwd())
with open("hello.txt") as f:
    print("read:", f.read().strip())
with open("written.txt", "w") as f:
    f.write("python wrote\n")
with open("written.txt", "a") as f:
    f.write("and appended\n")
with open("written.txt") as f:
    print("readback:", f.read().replace("\n", "|"))
print("listdir:", " ".join(sorted(os.listdir("."))))
print("size-hello:", os.stat("hello.txt").st_size)
print("size-big:", os.stat("big.bin").st_size)
print("isdir-sub:", os.path.isdir("sub"), os.path.isfile("sub"))
print("exists-missing:", os.path.exists("missing"))
try:
    open("missing")
except FileNotFoundError as e:
    print("missing-errno:", e.errno)
for top, dirs, files in sorted(os.walk("sub")):
    print("walk:", top, sorted(dirs), sorted(files))
os.replace("replacement.txt", "replace-me.txt")
os.chmod("script.sh", 0o751)
print("mode:", oct(os.stat("script.sh").st_mode & 0o7777))
'
out=$(zmx_run "$PY" "$T/py/t_basic.py" 2>&1)
is "$(field cwd)" "$WS" "os.getcwd() is the workspace path"
is "$(field read)" "hello from remote" "open().read() reads a remote-only file"
is "$(field readback)" "python wrote|and appended|" "write then append, read back"
is "$(cat "$R/ws/written.txt" 2>&1)" "$(printf 'python wrote\nand appended')" \
    "the written file is on the remote side"
is "$(field listdir)" "big.bin gone.txt hello.txt junk one.py replace-me.txt replacement.txt script.sh sub tree two.py written.txt" \
    "os.listdir lists the remote workspace"
is "$(field size-hello)" "$(stat -c %s "$R/ws/hello.txt")" "os.stat size of a small remote file"
is "$(field size-big)" 100000 "os.stat size of a 100 KB remote file"
is "$(field isdir-sub)" "True False" "os.path.isdir/isfile on a remote directory"
is "$(field exists-missing)" "False" "os.path.exists of a missing remote file"
is "$(field missing-errno)" "2" "open of a missing remote file raises ENOENT"
is "$(printf '%s\n' "$out" | grep '^walk:')" \
    "$(printf '%s\n' "walk: sub ['deeper'] ['s1.txt']" "walk: sub/deeper [] ['s2.txt']" | head -c -1)" \
    "os.walk walks the remote tree"
is "$(cat "$R/ws/replace-me.txt" 2>&1)" "new" "os.replace replaced the remote file"
ok $([ ! -e "$R/ws/replacement.txt" ]; echo $?) "os.replace removed the old name remotely"
is "$(field mode)" "0o751" "os.stat sees the mode os.chmod set"
is "$(stat -c %a "$R/ws/script.sh")" "751" "os.chmod changed the remote mode"

# ---- pathlib --------------------------------------------------------------

py pathlib '
from pathlib import Path
print("glob:", " ".join(sorted(str(p) for p in Path(".").glob("*.py"))))
print("rglob:", " ".join(sorted(str(p) for p in Path("sub").rglob("*.txt"))))
print("read_text:", Path("hello.txt").read_text().strip())
Path("pl.txt").write_text("pathlib wrote\n")
print("exists:", Path("hello.txt").exists(), Path("nope").exists())
print("is_dir:", Path("sub").is_dir(), Path("hello.txt").is_dir())
print("iterdir:", " ".join(sorted(p.name for p in Path("sub").iterdir())))
Path("made/by/pathlib").mkdir(parents=True)
Path("made/by/pathlib/leaf.txt").write_text("leaf\n")
Path("gone.txt").unlink()
print("after-unlink:", Path("gone.txt").exists())
print("resolve:", Path("sub/../hello.txt").resolve())
'
out=$(zmx_run "$PY" "$T/py/t_pathlib.py" 2>&1)
is "$(field glob)" "one.py two.py" "Path.glob finds remote-only files"
is "$(field rglob)" "sub/deeper/s2.txt sub/s1.txt" "Path.rglob walks the remote tree"
is "$(field read_text)" "hello from remote" "Path.read_text"
is "$(cat "$R/ws/pl.txt" 2>&1)" "pathlib wrote" "Path.write_text wrote remotely"
is "$(field exists)" "True False" "Path.exists"
is "$(field is_dir)" "True False" "Path.is_dir"
is "$(field iterdir)" "deeper s1.txt" "Path.iterdir"
is "$(cat "$R/ws/made/by/pathlib/leaf.txt" 2>&1)" "leaf" \
    "Path.mkdir(parents=True) made the remote tree"
ok $([ ! -e "$R/ws/gone.txt" ]; echo $?) "Path.unlink removed the remote file"
is "$(field after-unlink)" "False" "and Path.exists says so"
is "$(field resolve)" "$WS/hello.txt" "Path.resolve resolves through the remote tree"

# ---- tempfile -------------------------------------------------------------

py temp '
import os, tempfile
ws = os.getcwd()
with tempfile.NamedTemporaryFile("w", dir=ws, suffix=".ntf", delete=False) as f:
    f.write("named temp\n")
    print("ntf:", os.path.basename(f.name))
with tempfile.NamedTemporaryFile("w", dir=ws, suffix=".gone") as f:
    f.write("x")
    f.flush()
    print("ntf-during:", os.path.exists(f.name))
print("ntf-after:", os.path.exists(f.name))
fd, name = tempfile.mkstemp(dir=ws, suffix=".mks")
os.write(fd, b"mkstemp data\n")
os.close(fd)
print("mks:", os.path.basename(name))
with tempfile.TemporaryDirectory() as d:
    print("td:", d)
    with open(os.path.join(d, "inside"), "w") as f:
        f.write("in tempdir\n")
    print("td-list:", os.listdir(d))
print("td-after:", os.path.exists(d))
d = tempfile.mkdtemp(prefix="zmxpy")
with open(os.path.join(d, "kept"), "w") as f:
    f.write("kept\n")
print("mkdtemp:", d)
'
out=$(zmx_run "$PY" "$T/py/t_temp.py" 2>&1)
ntf=$(field ntf)
like "$ntf" '\.ntf$' "NamedTemporaryFile(dir=workspace) got a name"
is "$(cat "$R/ws/$ntf" 2>&1)" "named temp" "and its content is on the remote side"
is "$(field ntf-during) $(field ntf-after)" "True False" \
    "a deleting NamedTemporaryFile exists, then is gone"
is "$(cd "$R/ws" && ls -- *.gone 2>/dev/null)" "" "no deleted temp file is left remotely"
mks=$(field mks)
is "$(cat "$R/ws/$mks" 2>&1)" "mkstemp data" "tempfile.mkstemp(dir=...) wrote remotely"
td=$(field td)
like "$td" '^/tmp/' "TemporaryDirectory is under /tmp"
is "$(field td-list)" "['inside']" "a file made in it is listed"
is "$(field td-after)" "False" "it is gone after the with block"
ok $([ -n "$td" ] && [ ! -e "$R/tmp/${td#/tmp/}" ]; echo $?) \
    "TemporaryDirectory cleaned up remotely"
dt=$(field mkdtemp)
is "$(cat "$R/tmp/${dt#/tmp/}/kept" 2>&1)" "kept" "tempfile.mkdtemp made its dir in the remote /tmp"
ok $([ -n "$dt" ] && [ ! -e "$dt" ] && [ ! -e "$td" ]; echo $?) \
    "nothing was made in the local /tmp"

# ---- shutil ---------------------------------------------------------------

py sh '
import shutil
shutil.copytree("tree", "tree-copy", symlinks=True)
shutil.rmtree("junk")
shutil.copy2("hello.txt", "tree-copy/hello-copy.txt")
print("done")
'
out=$(zmx_run "$PY" "$T/py/t_sh.py" 2>&1)
is "$out" "done" "copytree, rmtree and copy2 raised nothing"
is "$(diff -r "$R/ws/tree" "$R/ws/tree-copy" 2>&1)" \
    "Only in $R/ws/tree-copy: hello-copy.txt" "shutil.copytree copied the remote tree"
is "$(readlink "$R/ws/tree-copy/a/link")" "fa" "copytree(symlinks=True) kept the symlink"
is "$(cat "$R/ws/tree-copy/hello-copy.txt" 2>&1)" "hello from remote" "shutil.copy2 copied remotely"
ok $([ ! -e "$R/ws/junk" ]; echo $?) "shutil.rmtree removed the remote tree"

ok $([ ! -e "$WS/written.txt" ] && [ ! -e "$WS/tree-copy" ]; echo $?) \
    "nothing showed up on the local side"
local_untouched
done_testing
