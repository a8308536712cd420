#!/usr/bin/python3
"""A scripted stand-in for a coding agent, in python3 (no network).

usage: agentlike.py SCENARIO PROJECT_DIR

It does what a coding agent does with its tools (pathlib, open, os.walk,
glob, subprocess, threads, os.replace of a temp file like an editor) in
PROJECT_DIR, relative to its cwd, and prints one "key: value" line per
result (value plain text, or compact JSON for lists) for
tests/agents/agentlike.t to assert on. Nothing it prints is precomputed:
every value comes from what the file system and the commands answered.

AGENTLIKE_SYNC names a local directory for the steps where the test acts
between two of the program's: the program creates SYNC/NAME files there
and waits for files the test creates.

Scenarios (the same in agentlike_node.mjs):
  edit     read a source file, fix its bug (temp file + rename), make test
  build    write sources and a Makefile, make, run, git init/add/commit
  search   walk, glob and grep a big tree in-process and as commands
  timeout  commands that run too long are killed by the program's timeouts
  bg       background commands whose output files appear later
  fresh    a file changed remotely between two steps is read fresh
  threads  threads reading and writing files next to the main thread
"""
import glob
import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

SYNC = os.environ.get("AGENTLIKE_SYNC", "")


def say(key, value):
    if not isinstance(value, str):
        value = json.dumps(value, separators=(",", ":"))
    print("%s: %s" % (key, value), flush=True)


def md5_lines(items):
    return hashlib.md5("".join(x + "\n" for x in items).encode()).hexdigest()


def signal_test(name):
    if SYNC:
        pathlib.Path(SYNC, name).write_text("%d\n" % os.getpid())


def wait_for_test(name, seconds=60):
    if not SYNC:
        return True
    end = time.time() + seconds
    while time.time() < end:
        if os.path.exists(os.path.join(SYNC, name)):
            return True
        time.sleep(0.05)
    say("error", "the test never created " + name)
    return False


def run(cmd, **kw):
    """A tool call: run a command, capture its output, never raise."""
    kw.setdefault("timeout", 120)
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout + p.stderr


def edit_file(path, old, new):
    """An editor's save: a temp file beside the original, fsync, rename."""
    path = pathlib.Path(path)
    text = path.read_text()
    if text.count(old) != 1:
        return False
    tmp = path.with_name(".%s.agent-%d.tmp" % (path.name, os.getpid()))
    mode = path.stat().st_mode & 0o7777
    with open(tmp, "w") as f:
        f.write(text.replace(old, new))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


# ---- scenarios ---------------------------------------------------------------


def edit():
    src = pathlib.Path("calc.c")
    text = src.read_text()
    lines = [i + 1 for i, l in enumerate(text.splitlines()) if "a - b" in l]
    say("bug_lines", lines)
    rc, out = run(["make", "test"])
    say("before_rc", str(rc))
    say("before_fail", [l for l in out.splitlines() if l.startswith("FAIL")])
    say("edited", str(edit_file(src, "return a - b;", "return a + b;")).lower())
    say("reread", [l.strip() for l in src.read_text().splitlines() if "int add" in l])
    say("tmp_left", sorted(p.name for p in pathlib.Path(".").glob(".*.tmp")))
    rc, out = run(["make", "test"])
    say("after_rc", str(rc))
    say("after_out", [l for l in out.splitlines()
                      if "passed" in l or "ran on" in l or l.startswith("FAIL")])


# the files the build scenario writes, the same for both programs
PROJECT = json.loads((pathlib.Path(__file__).parent /
                      "agentlike_project.json").read_text())


def build():
    for name, text in PROJECT.items():
        mode = 0o755 if name.endswith(".sh") else 0o644
        with open(name, "w", opener=lambda p, fl: os.open(p, fl, mode)) as f:
            f.write(text)
    say("wrote", sorted(os.listdir(".")))
    rc, out = run(["make"])
    say("make_rc", str(rc))
    say("make_cmds", [l.split()[0] for l in out.splitlines() if l.strip()])
    say("built", str(os.access("hello", os.X_OK)).lower())
    rc, out = run(["./hello"])
    say("run", "%d %s" % (rc, out.strip()))
    rc, out = run(["./check.sh"])
    say("script", "%d %s" % (rc, out.strip()))
    ident = ["-c", "user.name=Agent Like", "-c", "user.email=agent@example.invalid"]
    steps = [["git", "init", "-q"], ["git", "add", "-A"],
             ["git"] + ident + ["commit", "-q", "-m", "add hello program (py)"]]
    say("git_rcs", [run(s)[0] for s in steps])
    rc, out = run(["git", "log", "--format=%s"])
    say("git_log", out.strip())
    rc, out = run(["git", "status", "--porcelain"])
    say("git_status", out.strip())
    say("git_dir", str(os.path.isdir(".git/objects")).lower())


def search():
    files = []
    ndirs = 0
    for d, subdirs, names in os.walk("tree"):
        ndirs += len(subdirs)
        files += [os.path.join(d, n) for n in names]
    files.sort()
    say("walk", "%d files %d dirs %s" % (len(files), ndirs, md5_lines(files)))
    py = sorted(glob.glob("tree/**/*.py", recursive=True))
    say("glob", "%d %s" % (len(py), md5_lines(py)))
    rg = sorted(str(p) for p in pathlib.Path("tree").rglob("*.c"))
    say("rglob", "%d %s" % (len(rg), md5_lines(rg)))
    hits = []
    for f in files:
        with open(f, errors="replace") as fh:
            if "NEEDLE_zmx" in fh.read():
                hits.append(f)
    say("grep_inproc", "%d %s" % (len(hits), md5_lines(hits)))
    rc, out = run(["grep", "-rl", "NEEDLE_zmx", "tree"])
    g = sorted(out.split())
    say("grep_cmd", "%d %d %s" % (rc, len(g), md5_lines(g)))
    rc, out = run("find tree -type f -name '*.py'", shell=True)
    f = sorted(out.split())
    say("find_cmd", "%d %d %s" % (rc, len(f), md5_lines(f)))
    say("agree", str(g == hits and f == py).lower())


def timeout():
    res = {}
    t0 = time.time()

    def by_run():	# subprocess.run(timeout=): kills the child (SIGKILL)
        try:
            subprocess.run("echo partial; sleep 61", shell=True, timeout=4,
                           capture_output=True, text=True)
            res["run"] = "not killed"
        except subprocess.TimeoutExpired as e:
            out = e.stdout or b""	# bytes even with text=True
            if isinstance(out, bytes):
                out = out.decode()
            res["run"] = "TimeoutExpired %.0f %s" % (time.time() - t0, out.strip())

    def by_wait():	# Popen.wait(timeout=) then kill()
        p = subprocess.Popen(["sh", "-c", "sleep 62"])
        try:
            p.wait(timeout=4)
            res["wait"] = "not killed"
        except subprocess.TimeoutExpired:
            p.kill()
            res["wait"] = "TimeoutExpired rc %d" % p.wait()

    def by_group():	# communicate(timeout=) then SIGTERM to its group
        p = subprocess.Popen("sleep 63", shell=True, start_new_session=True,
                             stdout=subprocess.PIPE, text=True)
        try:
            p.communicate(timeout=4)
            res["group"] = "not killed"
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            p.communicate()
            res["group"] = "TimeoutExpired rc %d" % p.returncode

    ts = [threading.Thread(target=f) for f in (by_run, by_wait, by_group)]
    for t in ts:
        t.start()
    time.sleep(1.5)
    signal_test("timeout-running")
    for t in ts:
        t.join()
    for k in ("run", "wait", "group"):
        say(k, res.get(k, "?"))
    el = time.time() - t0
    say("elapsed_ok", str(3.5 < el < 20).lower())
    signal_test("timeout-killed")
    wait_for_test("timeout-checked")


def poll_file(name, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            text = open(name).read()
            if text.endswith("\n"):
                return text.strip()
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    return "(never appeared)"


def bg():
    t0 = time.time()
    p = subprocess.Popen(["sh", "-c", "sleep 2; echo bg-done $(uname -n) > bg.out; echo collected"],
                         stdout=subprocess.PIPE, text=True)
    say("popen_returned_early", str(time.time() - t0 < 1.5).lower())
    say("early_exists", str(os.path.exists("bg.out")).lower())
    pathlib.Path("notes.txt").write_text("working while the command runs\n")
    say("bg_file", poll_file("bg.out"))
    out, _ = p.communicate(timeout=30)
    say("collected", "%d %s" % (p.returncode, out.strip()))
    t0 = time.time()
    rc = subprocess.run(["sh", "-c", "(sleep 2; echo bg2 $(uname -n) > bg2.out) > /dev/null 2>&1 &"],
                        timeout=30).returncode
    say("detached", "%d %s" % (rc, str(time.time() - t0 < 1.5).lower()))
    say("bg2_file", poll_file("bg2.out"))
    # as Claude Code's Bash tool: the agent opens the task's output file
    # under /tmp, gives it to the command as stdout and stderr, reads it
    # while the command runs, and reads the cwd the command left
    tdir = "/tmp/agentlike-py-%d" % os.getpid()
    os.makedirs(tdir, exist_ok=True)
    say("task_dir", tdir)
    with open(tdir + "/task.output", "w") as f:
        p = subprocess.Popen(["sh", "-c", "echo start $(uname -n); sleep 2; echo end; pwd -P > %s/cwd" % tdir],
                             stdout=f, stderr=subprocess.STDOUT)
    seen = []
    end = time.time() + 30
    while time.time() < end:
        with open(tdir + "/task.output") as f:
            text = f.read()
        if text and text not in seen:
            seen.append(text)
        if "end\n" in text:
            break
        time.sleep(0.1)
    say("task_seen", [x.replace("\n", "|") for x in seen])
    say("task_rc", str(p.wait(timeout=30)))
    say("task_cwd", open(tdir + "/cwd").read().strip())


def fresh():
    cfg = pathlib.Path("config.txt")
    say("first", cfg.read_text().strip())
    say("list1", sorted(os.listdir(".")))
    say("size1", str(cfg.stat().st_size))
    signal_test("fresh-read")
    line = sys.stdin.readline().strip()
    say("told", line)
    say("second", cfg.read_text().strip())
    say("list2", sorted(os.listdir(".")))
    say("size2", str(cfg.stat().st_size))
    say("gone_exists", str(os.path.exists("gone.txt")).lower())
    with open("added.txt") as f:
        say("added", f.read().strip())
    cfg.write_text("value=three (agent)\n")


def threads():
    shared = pathlib.Path("shared.txt").read_bytes()
    want = hashlib.md5(shared).hexdigest()
    results = {}
    lock = threading.Lock()
    start = threading.Barrier(5)

    def work(name):
        os.makedirs(name, exist_ok=True)
        start.wait()
        ok = 0
        same = 0
        for i in range(25):
            p = os.path.join(name, "%02d.txt" % i)
            body = ("%s file %d\n" % (name, i)) * (i + 1)
            with open(p, "w") as f:
                f.write(body)
            with open(p) as f:
                ok += f.read() == body
            with open("shared.txt", "rb") as f:
                same += hashlib.md5(f.read()).hexdigest() == want
            with open("log.txt", "a") as f:
                f.write("%s %d\n" % (name, i))
        with lock:
            results[name] = (ok, same)

    ts = [threading.Thread(target=work, args=("t%d" % k,)) for k in range(4)]
    for t in ts:
        t.start()
    work("main")
    for t in ts:
        t.join()
    say("verified", sum(v[0] for v in results.values()))
    say("shared_same", sum(v[1] for v in results.values()))
    say("log_lines", len(open("log.txt").read().splitlines()))
    say("files", sum(len(os.listdir(n)) for n in results))


SCENARIOS = {"edit": edit, "build": build, "search": search, "timeout": timeout,
             "bg": bg, "fresh": fresh, "threads": threads}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit("usage: agentlike.py {%s} PROJECT_DIR" % "|".join(SCENARIOS))
    os.chdir(sys.argv[2])
    say("cwd", os.getcwd())
    try:
        SCENARIOS[sys.argv[1]]()
    except Exception as e:
        say("error", "%s: %s" % (type(e).__name__, e))
        sys.exit(1)
    say("end", sys.argv[1])


if __name__ == "__main__":
    main()
