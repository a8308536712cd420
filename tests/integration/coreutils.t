#!/bin/bash
# coreutils, find, du, sed -i and grep -r through the portal: they see and
# change only the remote workspace.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$R/ws/src/deep/er"
printf 'hello remote\n' > "$R/ws/hello.txt"
printf 'int main(void) { return 0; }\n' > "$R/ws/src/main.c"
printf 'needle in deep\n' > "$R/ws/src/deep/er/n.txt"
seq 1 100 > "$R/ws/numbers"
zmx_start_agentd

out=$(zmx_run cat hello.txt 2>&1)
is "$out" "hello remote" "cat reads a file that exists only remotely"

out=$(zmx_run ls 2>&1)
is "$out" "$(printf 'hello.txt\nnumbers\nsrc')" "ls lists the remote workspace"

out=$(zmx_run ls -la 2>&1)
like "$out" "hello\.txt" "ls -la shows remote files"
like "$out" "-rw-r--r-- +1 root root +13 .* hello\.txt" "ls -la shows remote metadata"
unlike "$out" "local-marker|cannot" "ls -la does not see the local side"

out=$(zmx_run stat -c '%s %F %i %Y' hello.txt src 2>&1)
is "$out" "$(cd "$R/ws" && stat -c '%s %F %i %Y' hello.txt src)" \
    "stat reports the remote size, type, inode and mtime"

zmx_run cp hello.txt copy.txt
is "$(cat "$R/ws/copy.txt" 2>&1)" "hello remote" "cp created the copy remotely"

zmx_run mv copy.txt moved.txt
ok $([ -f "$R/ws/moved.txt" ] && [ ! -e "$R/ws/copy.txt" ]; echo $?) "mv renamed remotely"

zmx_run mkdir -p a/b/c
ok $([ -d "$R/ws/a/b/c" ]; echo $?) "mkdir -p made the remote tree"

zmx_run touch a/b/c/t
ok $([ -f "$R/ws/a/b/c/t" ]; echo $?) "touch created a remote file"

zmx_run ln -s hello.txt link
is "$(readlink "$R/ws/link")" "hello.txt" "ln -s made a remote symlink"
is "$(zmx_run cat link 2>&1)" "hello remote" "cat follows the remote symlink"
is "$(zmx_run readlink link 2>&1)" "hello.txt" "readlink reads it"

out=$(zmx_run head -n 3 numbers 2>&1)
is "$out" "$(printf '1\n2\n3')" "head reads the start"
out=$(zmx_run tail -n 2 numbers 2>&1)
is "$out" "$(printf '99\n100')" "tail reads the end"

zmx_run sed -i 's/remote/portal/' hello.txt
is "$(cat "$R/ws/hello.txt")" "hello portal" "sed -i edited the remote file"

out=$(zmx_run find . -name '*.txt' 2>&1 | sort)
is "$out" "$(printf './hello.txt\n./moved.txt\n./src/deep/er/n.txt')" "find walks the remote tree"

out=$(zmx_run du -s --apparent-size -b src 2>&1)
is "$out" "$(cd "$R/ws" && du -s --apparent-size -b src)" \
    "du sums the remote tree as du on the remote side does"

out=$(zmx_run grep -rn needle . 2>&1)
is "$out" "./src/deep/er/n.txt:1:needle in deep" "grep -r finds text in remote files"

zmx_run rm -r a
ok $([ ! -e "$R/ws/a" ]; echo $?) "rm -r removed the remote tree"

zmx_run sh -c 'echo made > /tmp/zmx-coreutils-tmp'
is "$(cat "$R/tmp/zmx-coreutils-tmp" 2>&1)" "made" "/tmp is remote"
ok $([ ! -e /tmp/zmx-coreutils-tmp ]; echo $?) "nothing was written to the local /tmp"

out=$(zmx_run cat nosuch 2>&1)
like "$out" "No such file or directory" "a missing remote file is ENOENT"

local_untouched
done_testing
