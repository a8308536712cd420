#!/bin/bash
# agentd never serves a byte outside a client's scope, refuses every change
# in a read-only scope, answers bad frames with ERROR and lives on, admits
# only listed CURVE keys with their own scope and mode, will not listen
# beyond loopback without keys, and audits every change.
. "$(dirname "$0")/../lib.sh"

REQ=$B/tests/zmxreq
[ -x "$REQ" ] || skip_all "no $REQ (make builds it from tests/tools/zmxreq.c)"

mkdir -p "$R/ws/dir"
printf 'inside\n' > "$R/ws/hello.txt"
printf 'victim\n' > "$R/ws/victim.txt"
printf 'd\n' > "$R/ws/dir/f"
ln -s /etc "$R/ws/etc"			# absolute, out of scope
ln -s ../../.. "$R/ws/up"		# relative, climbs out of scope
ln -s hello.txt "$R/ws/fine"		# relative, stays inside
ln -s /proc/self/root "$R/ws/magic"	# a magic link's way out

# req ARGS...: zmxreq against the current agentd, stdout and stderr
req() {
	"$REQ" -e "$EP" -T 3000 "$@" 2>&1
}

# The secret a successful escape would show: agentd's /etc/passwd.
SECRET='root:x:0:0'

# ---- scope: nothing leaves the root ----------------------------------------

zmx_start_agentd -r "$T/ws"

out=$(req open "$WS/hello.txt")
like "$out" '^OPENED .* data=inside\\n$' "a file in scope opens, with its content"
out=$(req open "$WS/fine")
like "$out" '^OPENED .* data=inside\\n$' "a symlink that stays in scope is followed"

long=$WS/$(head -c 5000 /dev/zero | tr '\0' a)
# real files just outside the scope: an escape would show their content
echo outside-secret > "$T/outside.txt"
mkdir -p "$R/ws/dir"
for p in "$WS/../outside.txt" "$WS/dir/../../outside.txt" \
    "$WS/../victim.txt" "$WS/dir/../../x" "$WS/etc/passwd" \
    "$WS/up/etc/passwd" "$WS/up/$WS/hello.txt" "$WS/magic/etc/passwd" \
    /proc/self/root/etc/passwd /etc/passwd "$WS/../../../etc/passwd" \
    "$long"; do
	name=${p:0:80}
	[ ${#p} -gt 80 ] && name="a ${#p}-byte path"
	out=$(req open "$p")
	like "$out" '^ERROR (EXDEV|EACCES|ENAMETOOLONG|ELOOP|ENOENT|EPROTO) ' \
	    "open $name is an error"
	unlike "$out" "$SECRET|outside-secret|^OPENED|^DATA" \
	    "and shows no content"
done
out=$(req readdir "$WS/up" :: readdir "$WS/etc" :: readdir "$WS/.." :: \
    readdir /proc/self/root/etc)
is "$(printf '%s\n' "$out" | grep -Evc '^ERROR (EXDEV|EACCES) ')" 0 \
    "readdir through an escaping link, .. or /proc is refused"
unlike "$out" "ENTRIES|passwd" "and lists nothing"
out=$(req stat "$WS/etc/passwd" :: pread "$WS/etc/passwd" 0 100 :: \
    realpath "$WS/up/etc" :: access "$WS/up/etc/passwd" r)
is "$(printf '%s\n' "$out" | grep -Evc '^ERROR (EXDEV|EACCES) ')" 0 \
    "stat, pread, realpath and access through escaping links are refused"
unlike "$out" "$SECRET|^ATTR|^DATA|^PATH" "and tell nothing"
out=$(req put "$WS/up/zmx-escaped" data :: mkdir "$WS/etc/zmx-escaped" :: \
    symlink /etc "$WS/up/zmx-escaped-link" :: rename "$WS/victim.txt" "$WS/../victim.txt")
is "$(printf '%s\n' "$out" | grep -Evc '^ERROR (EXDEV|EACCES) ')" 0 \
    "put, mkdir, symlink and rename out of scope are refused"
ok $([ ! -e "$T/zmx-escaped" ] && [ ! -e /etc/zmx-escaped ] && \
    [ ! -e /zmx-escaped ] && [ ! -e "$T/victim.txt" ] && \
    [ -f "$R/ws/victim.txt" ]; echo $?) "and nothing changed outside the scope"

# What a program under the portal sees for the same escapes.
out=$(zmx_run cat etc/passwd up/etc/passwd 2>&1)
like "$out" "etc/passwd: (Invalid cross-device link|Permission denied)" \
    "cat through an absolute symlink out of scope fails"
like "$out" "up/etc/passwd: (Invalid cross-device link|Permission denied)" \
    "cat through a relative symlink out of scope fails"
unlike "$out" "$SECRET" "cat shows no content from outside the scope"
out=$(zmx_run cat "${long#"$WS"/}" 2>&1)
like "$out" "File name too long" "cat of a 5000-byte path is ENAMETOOLONG"

# ---- malformed frames ------------------------------------------------------

# raw NAME HEX: sends the bytes after a HELLO and without one
for spec in "garbage:c1c1c1c1deadbeef" \
    "an empty frame:" \
    "a truncated msgpack frame:930502 81 a5 7374616d" \
    "an array of two:9205 02" \
    "an unknown message type:9363 02 80" \
    "a map with an unknown key:9305 02 82 a5 7374616d70 01 a3 666f6f 01" \
    "a string where a number goes:930d 02 84 a4 70617468 a1 2f a5 666c616773 a1 78 a4 6d6f6465 00 a3 6d6178 00" \
    "trailing bytes:9305 02 81 a5 7374616d70 01 c0"; do
	name=${spec%%:*}
	hex=${spec#*:}
	out=$(req --raw "$hex")
	like "$out" '^ERROR E[A-Z]+ ' "$name after HELLO gets an ERROR reply"
	out=$(req --no-hello --raw "$hex")
	like "$out" '^ERROR E[A-Z]+ ' "$name without a HELLO gets an ERROR reply"
done
# Frames that ask msgpack-c for memory: 16 MB declaring 16 million
# elements (about 400 MB once unpacked), and one over the size limit.
python3 -c 'import struct, sys
n = int(sys.argv[2])
open(sys.argv[1], "wb").write(b"\x93\x05\x01\xdd" + struct.pack(">I", n) +
    b"\xc0" * n)' "$T/mid.frame" 16000000
python3 -c 'open(__import__("sys").argv[1], "wb").write(b"\x93\x05\x01\xc6" +
    (40 << 20).to_bytes(4, "big") + b"x" * (40 << 20))' "$T/big.frame"
out=$(req --frame-file "$T/mid.frame")
like "$out" '^ERROR EPROTO more than [0-9]+ elements' \
    "16 million declared elements are refused before unpacking"
req -T 1000 --frame-file "$T/big.frame" >/dev/null
is "$?" 3 "a 40 MiB frame (over the request limit) is dropped unanswered"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$AGENTD_PID/status" 2>/dev/null)
diag "agentd peak RSS: ${hwm:-?} kB"
ok $([ -n "$hwm" ] && [ "$hwm" -lt 150000 ]; echo $?) \
    "agentd's memory stayed below 150 MB (peak ${hwm:-?} kB)"

out=$(req ping 42)
is "$out" "PONG stamp=42 server=$(req ping 1 | sed -n 's/^PONG stamp=1 server=//p')" \
    "after all that a ping is answered"
ok $(kill -0 "$AGENTD_PID" 2>/dev/null; echo $?) "agentd is still running"
zmx_stop_agentd

# ---- a read-only scope -----------------------------------------------------

before=$(snapshot "$R/ws")
zmx_start_agentd -r "$T/ws" --read-only

out=$(req open "$WS/hello.txt")
like "$out" '^OPENED .* data=inside\\n$' "read-only: reading works"
out=$(req listxattr "$WS/hello.txt")
is "$out" "XATTR len=0 value=" "read-only: listing extended attributes works"
out=$(req unlink "$WS/victim.txt" :: mkdir "$WS/newdir" :: \
    open "$WS/victim.txt" w :: open "$WS/new.txt" w,creat :: \
    put "$WS/victim.txt" overwritten :: put "$WS/new.txt" created :: \
    rename "$WS/victim.txt" "$WS/renamed.txt" :: chmod "$WS/victim.txt" 777 :: \
    truncate "$WS/victim.txt" 0 :: symlink x "$WS/newlink" :: rmdir "$WS/dir" :: \
    pwrite "$WS/victim.txt" 0 X :: utimens "$WS/victim.txt" 0 0 0 0 :: \
    setxattr "$WS/victim.txt" user.x 1 :: removexattr "$WS/victim.txt" user.x :: \
    mknod "$WS/fifo" 010644)
is "$(printf '%s\n' "$out" | grep -c '^ERROR EROFS ')" 16 \
    "read-only: unlink, mkdir, open for write, put and every other change is EROFS"
rest=$(printf '%s\n' "$out" | grep -v '^ERROR EROFS ')
[ -z "$rest" ] || diag "$rest"

out=$(zmx_run sh -c 'rm victim.txt; echo x > new.txt; mkdir newdir; echo y >> hello.txt' 2>&1)
is "$(printf '%s\n' "$out" | grep -c 'Read-only file system')" 4 \
    "read-only: rm, >, mkdir and >> under the portal say 'Read-only file system'"
is "$(snapshot "$R/ws")" "$before" "read-only: the remote files are unchanged"
zmx_stop_agentd

# ---- CURVE: listed keys only, each with its scope and mode ----------------

mkdir "$T/k"
for n in server alice bob mallory; do
	"$B/zmx" keygen -o "$T/k/$n" >/dev/null || echo "Bail out! keygen $n"
done
pub() {
	sed -n 's/^public //p' "$T/k/$1.pub"
}
printf '# test keys\n%s root=%s,rw alice\n%s root=%s,ro bob\n' \
    "$(pub alice)" "$T/ws" "$(pub bob)" "$T/ws" > "$T/k/authorized"
zmx_start_agentd -k "$T/k/authorized" -s "$T/k/server.key"
S=$T/k/server.pub

out=$("$B/zmx" ping -e "$EP" -k "$T/k/alice.key" -S "$S" -c 1 2>&1)
like "$out" "root $WS, read-write" "zmx ping: alice's key is accepted, read-write in the workspace"
out=$(req -k "$T/k/alice.key" -S "$S" open "$WS/hello.txt" :: \
    put "$WS/alice.txt" "from alice" :: mkdir "$WS/alicedir" :: \
    unlink "$WS/victim.txt" :: open /etc/passwd)
is "$(printf '%s\n' "$out" | cut -d' ' -f1,2 | tr '\n' ' ')" \
    "OPENED mode=0100644 ATTR mode=0100644 OK OK ERROR EACCES " \
    "alice reads, writes, makes, removes in scope, and not beyond"
is "$(cat "$R/ws/alice.txt" 2>&1)" "from alice" "alice's put is on the remote side"
ok $([ -d "$R/ws/alicedir" ] && [ ! -e "$R/ws/victim.txt" ]; echo $?) \
    "alice's mkdir and unlink happened remotely"
out=$(ZMX_TIMEOUT_MS=5000 "$B/zmx" run -e "$EP" -k "$T/k/alice.key" -S "$S" \
    -C "$WS" -- sh -c 'cat hello.txt; echo portal > alice2.txt' 2>&1)
is "$out" "inside" "zmx run with alice's key reads the workspace"
is "$(cat "$R/ws/alice2.txt" 2>&1)" "portal" "and writes to it"

before=$(snapshot "$R/ws")
out=$(req -k "$T/k/bob.key" -S "$S" open "$WS/hello.txt" :: \
    put "$WS/hello.txt" "from bob" :: unlink "$WS/alice.txt" :: mkdir "$WS/bobdir")
is "$(printf '%s\n' "$out" | cut -d' ' -f1,2 | tr '\n' ' ')" \
    "OPENED mode=0100644 ERROR EROFS ERROR EROFS ERROR EROFS " \
    "bob's read-only key reads, and every change is EROFS"
is "$(snapshot "$R/ws")" "$before" "bob changed nothing remotely"

out=$(req -T 1500 -k "$T/k/mallory.key" -S "$S" ping; echo "status $?")
is "$out" "$(printf 'zmxreq: no answer from %s\nstatus 3' "$EP")" \
    "an unlisted key gets no answer at all"
out=$("$B/zmx" ping -e "$EP" -k "$T/k/mallory.key" -S "$S" -c 1 -W 1500 2>&1; echo "status $?")
like "$out" "status 1$" "zmx ping with the unlisted key fails"
out=$(req -T 1500 ping; echo "status $?")
is "$out" "$(printf 'zmxreq: no answer from %s\nstatus 3' "$EP")" \
    "a client without CURVE gets no answer"
out=$(ZMX_TIMEOUT_MS=1500 timeout 20 "$B/zmx" run -e "$EP" -k "$T/k/mallory.key" \
    -S "$S" -C "$WS" -- cat hello.txt 2>&1)
like "$out" "Input/output error" "zmx run with the unlisted key: EIO"
unlike "$out" "^inside" "and no content"
ok $(kill -0 "$AGENTD_PID" 2>/dev/null; echo $?) "agentd is still running"
zmx_stop_agentd

# ---- no keys, no network ---------------------------------------------------

out=$(timeout 10 "$B/agentd" -l 'tcp://0.0.0.0:*' -E "$T/ep-any" 2>&1; echo "status $?")
like "$out" "loopback only.*tcp://0\.0\.0\.0:\*" "agentd without keys on 0.0.0.0 says why it will not start"
like "$out" "status 2$" "and exits with status 2"
ok $([ ! -e "$T/ep-any" ]; echo $?) "it wrote no endpoint"

# ---- the audit log ---------------------------------------------------------

A=$T/audit.log
# audited OP PATH KEY RESULT: the number of lines for that change
audited() {
	grep -c " key=$3 .*op=$1 path=$2 .*result=$4\$" "$A"
}
is "$(audited put "$WS/alice.txt" alice ok)" 1 "audit: alice's put, once"
is "$(audited mkdir "$WS/alicedir" alice ok)" 1 "audit: alice's mkdir, once"
is "$(audited unlink "$WS/victim.txt" alice ok)" 1 "audit: alice's unlink, once"
is "$(audited put "$WS/hello.txt" bob EROFS)" 1 "audit: bob's refused put, once"
is "$(audited mkdir "$WS/newdir" - EROFS)" 2 \
    "audit: the read-only scope's refused mkdir, once from zmxreq and once from the portal"
# agentd logs an unlisted key by its first 8 Z85 characters, escaping '%'
# and '=' as the audit log escapes every value.
m8=$(pub mallory | cut -c1-8 | sed 's/%/%25/g; s/=/%3D/g')
n=$(grep -Fc " key=$m8 session=- op=auth peer=127.0.0.1 result=EACCES" "$A")
ok $([ "$n" -ge 3 ]; echo $?) \
    "audit: the unlisted key's refused attempts (zmxreq, zmx ping, zmx run) name it ($n)"
is "$(grep -Ec " op=(stat|readdir|pread|access|realpath|readlink) | op=open path=$WS/hello.txt result=ok" "$A")" 0 \
    "audit: reads are not logged"
is "$(grep -vc '^[0-9T:.-]*Z key=[^ ]* session=[^ ]* op=[a-z]* .*result=[A-Zok]*$' "$A")" 0 \
    "audit: every line has time, key, session, op and result"

local_untouched
done_testing
