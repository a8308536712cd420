#!/bin/bash
# Threads and forks share one session: eight Python threads write, read
# and list remote files at once, and a forked child keeps working while
# its parent does; everything lands remotely, nothing locally.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no /usr/bin/python3"

mkdir -p "$R/ws/in"
for i in $(seq 1 40); do echo "input $i" > "$R/ws/in/f$i"; done
zmx_start_agentd

out=$(zmx_run "$PY" -c '
import os, concurrent.futures as cf
def work(i):
    with open(f"in/f{i}") as f:
        got = f.read().strip()
    with open(f"out{i}.txt", "w") as f:
        f.write(got.upper() + "\n")
    return len(os.listdir("in"))
with cf.ThreadPoolExecutor(8) as ex:
    counts = list(ex.map(work, range(1, 41)))
print("threads", len(counts), set(counts))
' 2>&1)
is "$out" "threads 40 {40}" "40 reads, writes and listings from 8 threads"
n=0
for i in $(seq 1 40); do
	[ "$(cat "$R/ws/out$i.txt" 2>/dev/null)" = "INPUT $i" ] && n=$((n + 1))
done
is "$n" 40 "every file the threads wrote is on the remote side, whole"

out=$(zmx_run "$PY" -c '
import os
pid = os.fork()
if pid == 0:
    open("child.txt", "w").write("from the child\n")
    print(open("in/f1").read().strip(), "in child", flush=True)
    os._exit(0)
open("parent.txt", "w").write("from the parent\n")
os.waitpid(pid, 0)
print(open("child.txt").read().strip(), "seen by parent")
' 2>&1)
is "$out" "$(printf 'input 1 in child\nfrom the child seen by parent')" \
    "a forked child gets its own connection; the parent sees its file"
is "$(cat "$R/ws/parent.txt" "$R/ws/child.txt" 2>&1)" \
    "$(printf 'from the parent\nfrom the child')" "both files are remote"

local_untouched
done_testing
