#!/bin/bash
# node through the portal: fs sync calls, fs.promises (libuv's thread pool)
# and streams see and change only the remote workspace.
. "$(dirname "$0")/../lib.sh"

NODE=/usr/bin/node
[ -x "$NODE" ] || skip_all "no $NODE"

mkdir -p "$R/ws/sub/inner" "$R/ws/tree/a/b"
printf 'hello from remote\n' > "$R/ws/hello.txt"
printf 'doomed\n' > "$R/ws/doomed.txt"
printf 'rename me\n' > "$R/ws/before.txt"
printf 's\n' > "$R/ws/sub/s.txt"
printf 'fb\n' > "$R/ws/tree/a/b/fb"
head -c 204800 /dev/urandom > "$R/ws/big.bin"
big_md5=$(md5sum < "$R/ws/big.bin")
zmx_start_agentd

# The script stays local, outside the workspace, like node itself.
mkdir -p "$T/js"

# field KEY: the value printed as "KEY: value" in $out
field() {
	printf '%s\n' "$out" | sed -n "s/^$1: //p"
}

# ---- fs, synchronous ------------------------------------------------------

cat > "$T/js/sync.js" <<'EOF'
const fs = require('fs');
const p = (k, v) => console.log(k + ': ' + v);
p('cwd', process.cwd());
p('read', fs.readFileSync('hello.txt', 'utf8').trim());
fs.writeFileSync('n.txt', 'node wrote\n');
fs.appendFileSync('n.txt', 'node appended\n');
p('readback', fs.readFileSync('n.txt', 'utf8').replace(/\n/g, '|'));
p('exists', fs.existsSync('hello.txt') + ' ' + fs.existsSync('missing'));
const st = fs.statSync('big.bin');
p('stat', st.size + ' ' + st.isFile() + ' ' + fs.statSync('sub').isDirectory());
p('dirents', fs.readdirSync('.', { withFileTypes: true })
    .map(d => d.name + (d.isDirectory() ? '/' : '')).sort().join(' '));
fs.mkdirSync('x/y/z', { recursive: true });
fs.writeFileSync('x/y/z/leaf', 'leaf\n');
fs.renameSync('before.txt', 'after.txt');
fs.unlinkSync('doomed.txt');
fs.rmSync('tree', { recursive: true });
try { fs.readFileSync('missing'); } catch (e) { p('missing', e.code); }
EOF
out=$(zmx_run "$NODE" "$T/js/sync.js" 2>&1)
is "$(field cwd)" "$WS" "process.cwd() is the workspace path"
is "$(field read)" "hello from remote" "readFileSync reads a remote-only file"
is "$(field readback)" "node wrote|node appended|" "writeFileSync then appendFileSync, read back"
is "$(cat "$R/ws/n.txt" 2>&1)" "$(printf 'node wrote\nnode appended')" \
    "the written and appended file is on the remote side"
is "$(field exists)" "true false" "existsSync"
is "$(field stat)" "204800 true true" "statSync reports the remote size and type"
is "$(field dirents)" "before.txt big.bin doomed.txt hello.txt n.txt sub/ tree/" \
    "readdirSync({withFileTypes: true}) lists remote names and types"
is "$(cat "$R/ws/x/y/z/leaf" 2>&1)" "leaf" "mkdirSync({recursive: true}) made the remote tree"
ok $([ -f "$R/ws/after.txt" ] && [ ! -e "$R/ws/before.txt" ]; echo $?) \
    "renameSync renamed remotely"
ok $([ ! -e "$R/ws/doomed.txt" ]; echo $?) "unlinkSync removed the remote file"
ok $([ ! -e "$R/ws/tree" ]; echo $?) "rmSync({recursive: true}) removed the remote tree"
is "$(field missing)" "ENOENT" "a missing remote file is ENOENT"

# ---- fs.promises (run on libuv's worker threads) --------------------------

cat > "$T/js/promises.js" <<'EOF'
const fsp = require('fs').promises;
const p = (k, v) => console.log(k + ': ' + v);
(async () => {
	p('read', (await fsp.readFile('hello.txt', 'utf8')).trim());
	await fsp.writeFile('p.txt', 'promised\n');
	p('readdir', (await fsp.readdir('sub')).sort().join(' '));
	p('stat', (await fsp.stat('big.bin')).size);
	const all = await Promise.all(['hello.txt', 'p.txt', 'sub/s.txt']
	    .map(f => fsp.readFile(f, 'utf8')));
	p('parallel', all.map(s => s.trim()).join(' '));
})().catch(e => { p('error', e.code + ' ' + e.message); process.exit(1); });
EOF
out=$(zmx_run "$NODE" "$T/js/promises.js" 2>&1)
is "$(field read)" "hello from remote" "fs.promises.readFile"
is "$(cat "$R/ws/p.txt" 2>&1)" "promised" "fs.promises.writeFile wrote remotely"
is "$(field readdir)" "inner s.txt" "fs.promises.readdir"
is "$(field stat)" "204800" "fs.promises.stat"
is "$(field parallel)" "hello from remote promised s" "three readFile calls in parallel"
is "$(field error)" "" "no promise was rejected"

# ---- streams ---------------------------------------------------------------

cat > "$T/js/stream.js" <<'EOF'
const fs = require('fs');
const ws = fs.createWriteStream('big.copy');
fs.createReadStream('big.bin').pipe(ws);
ws.on('finish', () => console.log('finish: ' + fs.statSync('big.copy').size));
ws.on('close', () => console.log('close: ' + fs.statSync('big.copy').size));
EOF
out=$(zmx_run "$NODE" "$T/js/stream.js" 2>&1)
is "$(field close)" "204800" "createReadStream piped to createWriteStream: the closed copy's size"
is "$(md5sum < "$R/ws/big.copy" 2>&1)" "$big_md5" "the remote copy is byte for byte the remote original"
# 'finish' comes after the last write and before close: the fd is still
# open, but a stat by path in the same process must see what it wrote (as
# on NFS, whose stat flushes first).
is "$(field finish)" "204800" "statSync of a file still open for writing sees its size"

ok $([ ! -e "$WS/n.txt" ] && [ ! -e "$WS/big.copy" ]; echo $?) \
    "nothing showed up on the local side"
local_untouched
done_testing
