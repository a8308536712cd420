#!/bin/bash
# agentd on a shared machine: without keys it serves only the user who
# started it (an unprivileged local user gets nothing through a root
# agentd, on TCP or on a Unix socket); one key's flood of HELLOs leaves
# another key served; a peer that never reads its replies keeps agentd's
# memory bounded while others are served; a repeated change is answered
# from the reply cache and made once; peer-controlled strings are
# escaped in the log; sessions of peers that are gone are reclaimed.
. "$(dirname "$0")/../lib.sh"

req() {
	"$B/tests/zmxreq" -e "$EP" "$@"
}
nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
[ "$(id -u)" = 0 ] || skip_all "needs root (an agentd of root, a client of another user)"
# uid 65534 runs copies it can reach: the build may be under /root (0700)
NB=$T/nobody
mkdir -p "$NB"
cp "$B/zmx" "$B/libzmx.so" "$B/tests/zmxreq" "$NB/"
chmod 755 "$NB" "$NB"/*
chmod 711 "$T"

# ---- without keys: agentd's own user only ----------------------------------

zmx_start_agentd --log-level info
out=$(nobody "$NB/zmxreq" -e "$EP" -v open /etc/shadow :: \
    put "$WS/owned-by-root" x begin,commit)
is "$out" "$(printf '%s\n' \
    "ERROR EACCES agentd without keys serves only uid 0, whose cookie ($T/state/cookie, named by ZMX_COOKIE) this client could not read" \
    'ERROR ENOTCONN send HELLO first' 'ERROR ENOTCONN send HELLO first')" \
    "TCP: uid 65534, who cannot read agentd's cookie, is refused at HELLO and gets nothing after it"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/forged-cookie"
echo >> "$T/forged-cookie"
chmod 644 "$T/forged-cookie"
out=$(nobody env ZMX_COOKIE="$T/forged-cookie" "$NB/zmxreq" -e "$EP" -v stat /)
like "$out" "^ERROR EACCES agentd without keys serves only uid 0, whose cookie .* this client did not send" \
    "a guessed cookie is refused too"
ok $([ ! -e "$R/ws/owned-by-root" ]; echo $?) "nothing was created for it"
out=$(cd / && nobody env ZMX_TIMEOUT_MS=3000 "$NB/zmx" run -e "$EP" -R /etc \
    -C "$WS" -- cat /etc/shadow 2>&1)
like "$out" "cat: /etc/shadow: Input/output error" \
    "zmx run as uid 65534 with /etc remote cannot read /etc/shadow"
like "$out" "HELLO refused: EACCES agentd without keys serves only uid 0" \
    "and is told why"
like "$(req stat /etc/shadow)" "^ATTR mode=0100640 " "root, agentd's own user, is served"
like "$(cat "$T/agentd.log")" "hello from 127.0.0.1 \(key -\) refused: agentd without keys serves only uid 0" \
    "the refusal is logged"
like "$(cat "$T/audit.log")" "op=hello .*result=EACCES" "and audited"
zmx_stop_agentd

# the same on a Unix socket, even when its file is opened to all
rm -f "$T/endpoint"
unshare -m --propagation private /bin/sh -c '
	mount --bind "$1/remote/ws" "$1/ws"
	exec "$1/agentd" -l "ipc://$1/sock" -E "$1/endpoint" \
	    --state-dir "$1/state-ipc" -a "$1/audit-ipc.log"' sh "$T" \
    2>>"$T/agentd.log" &
AGENTD_PID=$!
for _ in $(seq 1 100); do [ -s "$T/endpoint" ] && break; sleep 0.05; done
EP=$(cat "$T/endpoint")
export ZMX_COOKIE=$T/state-ipc/cookie
is "$(stat -c %a "$T/sock")" 700 "agentd's ipc:// socket is mode 0700, not 0777"
is "$(stat -c %a "$T/state-ipc/cookie")" 600 "its cookie is agentd's user's alone"
chmod 777 "$T/sock"
out=$(nobody "$NB/zmxreq" -e "$EP" -v stat /etc/shadow)
like "$out" "^ERROR EACCES agentd without keys serves only uid 0, whose cookie" \
    "ipc://, socket opened to all: uid 65534 is refused"
like "$(req stat /etc/shadow)" "^ATTR " "root is served on the socket"
is "$(find "$T/audit.log" "$T/audit-ipc.log" "$T/state" "$T/state-ipc" -perm /o+w | wc -l)" 0 \
    "nothing agentd made is world-writable"
zmx_stop_agentd

# ---- one key's HELLO flood does not refuse another key ---------------------

mkdir "$T/k"
for n in server alice bob; do
	"$B/zmx" keygen -o "$T/k/$n" >/dev/null || echo "Bail out! keygen $n"
done
pub() {
	sed -n 's/^public //p' "$T/k/$1.pub"
}
printf '%s root=%s,rw alice\n%s root=%s,ro bob\n' \
    "$(pub alice)" "$T/ws" "$(pub bob)" "$T/ws" > "$T/k/authorized"
echo inside > "$R/ws/hello.txt"
zmx_start_agentd -k "$T/k/authorized" -s "$T/k/server.key"
S=$T/k/server.pub
flood=${ZMX_FLOOD:-5000}
out=$(req -T 10000 -k "$T/k/bob.key" -S "$S" --flood-hellos "$flood")
like "$out" "^welcomed [0-9]+ refused [0-9]+ silent 0" \
    "$flood HELLOs with fresh tokens from bob's read-only key, each answered"
diag "bob's flood: $out"
out=$(req -T 2000 -k "$T/k/alice.key" -S "$S" open "$WS/hello.txt")
like "$out" '^OPENED .* data=inside\\n$' "alice's key is served at once after the flood"
# a flood that keeps its connections open fills bob's share, not more
"$B/tests/zmxreq" -e "$EP" -k "$T/k/bob.key" -S "$S" -T 4000 --send-only \
    stat "$WS" >/dev/null &
held=$!
sleep 0.5
out=$(req -T 2000 -k "$T/k/alice.key" -S "$S" stat "$WS/hello.txt")
like "$out" '^ATTR ' "and while bob holds a connection open too"
wait "$held"
zmx_stop_agentd

# ---- a peer that never reads its replies -------------------------------------

zmx_start_agentd --log-level info
head -c $((16 << 20)) /dev/urandom > "$R/ws/big.bin"
before=$(rss_kb "$AGENTD_PID")
args=()
for _ in $(seq 1 48); do
	args+=(pread "$WS/big.bin" 0 $((16 << 20)) ::)
done
req -T 3000 --send-only "${args[@]}" > "$T/sent" &
hog=$!
sleep 1.5
out=$(req -T 2000 stat "$WS/big.bin")
like "$out" '^ATTR mode=0100644 size=16777216 ' "another client is served meanwhile"
during=$(rss_kb "$AGENTD_PID")
wait "$hog"
hwm=$(rss_kb "$AGENTD_PID" VmHWM)
diag "agentd RSS: ${before} kB before, ${during} kB while 48 x 16 MiB wait unread, peak ${hwm} kB"
if [ "${ZMX_ASAN:-0}" = 1 ] || [ "${ZMX_AGENTD_VALGRIND:-0}" = 1 ]; then
	ok 0 "# SKIP the memory bound is for agentd as built, not under a sanitizer"
else
	ok $([ "$hwm" -lt 24576 ]; echo $?) \
	    "48 reads of 16 MiB never read keep agentd under 24 MiB (peak ${hwm} kB; 776 MB before flow control)"
fi
like "$(req ping 7)" "^PONG stamp=7 " "agentd answers after the hog left"

# 16 connections of one session, 8 unread reads of 1 MiB each: what
# agentd holds is about 3 replies a connection (agentd(8), FLOW CONTROL)
args=()
for _ in $(seq 1 8); do
	args+=(pread "$WS/big.bin" 0 $((1 << 20)) ::)
done
req -T 3000 --send-only --conns 16 "${args[@]}" > "$T/sent" &
hog=$!
sleep 2
during=$(rss_kb "$AGENTD_PID")
wait "$hog"
is "$(cat "$T/sent")" "sent 128 requests on 16 connections" "16 connections sent 8 reads each"
diag "agentd RSS with 16 unread connections: ${during} kB"
if [ "${ZMX_ASAN:-0}" = 1 ] || [ "${ZMX_AGENTD_VALGRIND:-0}" = 1 ]; then
	ok 0 "# SKIP the memory bound is for agentd as built, not under a sanitizer"
else
	ok $([ "$during" -lt $((16 * 3 * 1024 + 32768)) ]; echo $?) \
	    "16 unread connections: agentd holds about 3 MiB each (${during} kB)"
fi
like "$(req ping 8)" "^PONG stamp=8 " "agentd answers after that hog left"

# ---- the reply cache ---------------------------------------------------------

tok=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$(req -t "$tok" -i 0x5eed00000001 mkdir "$WS/once"; \
    req -t "$tok" -i 0x5eed00000001 mkdir "$WS/once"; \
    req -t "$tok" -i 0x5eed00000002 mkdir "$WS/once")
is "$out" "$(printf 'OK\nOK\nERROR EEXIST mkdir %s/once: File exists' "$WS")" \
    "a mkdir repeated with its id gets the first answer; a new id is a new mkdir"
is "$(grep -c "op=mkdir path=$WS/once " "$T/audit.log")" 2 \
    "the audit log has the mkdir and the new one, not the repeat"
out=$(req -t "$tok" -i 0x5eed00000003 put "$WS/up.txt" abc begin :: \
    put "$WS/up.txt" abc commit 3)
is "$(printf '%s\n' "$out" | cut -d' ' -f1)" "$(printf 'OK\nATTR')" "an upload in two chunks"
out=$(req -t "$tok" -i 0x5eed00000003 put "$WS/up.txt" abc begin :: \
    put "$WS/up.txt" abc commit 3)
is "$(printf '%s\n' "$out" | cut -d' ' -f1)" "$(printf 'OK\nATTR')" \
    "repeated whole on a new connection: the same answers"
is "$(cat "$R/ws/up.txt")" "abcabc" "and the file was written once, whole"

# ---- peer-controlled strings in the log ------------------------------------

out=$(req --raw 930a0182a570610a7468a178a5666c61677300)
like "$out" '^ERROR EPROTO ' "a field name with a newline is refused"
like "$(cat "$T/agentd.log")" "unknown field 'pa\\\\x0ath'" \
    "and logged escaped, on one line"
is "$(grep -c '^th' "$T/agentd.log")" 0 "no forged line starts in the log"
zmx_stop_agentd

# ---- sessions of peers that are gone are reclaimed -------------------------

zmx_start_agentd --log-level info --linger 1
req stat "$WS" >/dev/null
tag=$(sed -n 's/.*session \([0-9a-f]*\): key -, root.*/\1/p' "$T/agentd.log" | tail -1)
for _ in $(seq 1 100); do
	grep -q "session $tag (key -) forgotten" "$T/agentd.log" && break
	sleep 0.1
done
like "$(cat "$T/agentd.log")" "session $tag \\(key -\\) forgotten" \
    "the session of a client that exited is forgotten (linger 1 s)"

local_untouched
done_testing
