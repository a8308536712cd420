#!/bin/bash
# A remote file keeps what makes it itself: reading it through agentd
# leaves its atime. Every check is made remotely, with real tools in
# agentd's namespace (zmx_remote).
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"
command -v nsenter >/dev/null || skip_all "no nsenter"
export TZ=UTC

printf 'old times\n' > "$R/ws/t.txt"
zmx_start_agentd

# ---- times ---------------------------------------------------------------

y2001=$(date -d 2001-01-01 +%s)
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

local_untouched
done_testing
