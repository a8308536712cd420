// A scripted stand-in for a coding agent, in node (no network).
//
// usage: node agentlike_node.mjs SCENARIO PROJECT_DIR
//
// It does what a coding agent does with its tools (fs/promises, fs sync
// calls, recursive readdir, child_process exec/execFile/spawn with
// timeouts and kill, worker_threads doing file I/O) in PROJECT_DIR,
// relative to its cwd, and prints one "key: value" line per result (value
// plain text, or compact JSON for lists), exactly as agentlike.py does, for
// tests/agents/agentlike.t to assert on. Nothing it prints is precomputed.
//
// AGENTLIKE_SYNC names a local directory for the steps where the test acts
// between two of the program's (see agentlike.py).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import cp from 'node:child_process';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const SYNC = process.env.AGENTLIKE_SYNC || '';
const sleep = ms => new Promise(r => setTimeout(r, ms));
const execFileP = promisify(cp.execFile);

function say(key, value) {
	if (typeof value !== 'string')
		value = JSON.stringify(value);
	process.stdout.write(`${key}: ${value}\n`);
}

const md5Lines = items =>
	crypto.createHash('md5').update(items.map(x => x + '\n').join('')).digest('hex');

function signalTest(name) {
	if (SYNC)
		fs.writeFileSync(path.join(SYNC, name), `${process.pid}\n`);
}

async function waitForTest(name, seconds = 60) {
	if (!SYNC)
		return true;
	const end = Date.now() + seconds * 1000;
	while (Date.now() < end) {
		if (fs.existsSync(path.join(SYNC, name)))
			return true;
		await sleep(50);
	}
	say('error', 'the test never created ' + name);
	return false;
}

// A tool call: run a command, its status and output, never throw.
async function run(file, args, opts = {}) {
	try {
		const { stdout, stderr } = await execFileP(file, args, { timeout: 120000, ...opts });
		return [0, stdout + stderr];
	} catch (e) {
		return [typeof e.code === 'number' ? e.code : -1, (e.stdout || '') + (e.stderr || '')];
	}
}

// An editor's save: a temp file beside the original, fsync, rename.
async function editFile(file, oldText, newText) {
	const text = await fsp.readFile(file, 'utf8');
	if (text.split(oldText).length !== 2)
		return false;
	const tmp = path.join(path.dirname(file), `.${path.basename(file)}.agent-${process.pid}.tmp`);
	const st = await fsp.stat(file);
	const fh = await fsp.open(tmp, 'w');
	await fh.writeFile(text.replace(oldText, newText));
	await fh.sync();
	await fh.close();
	await fsp.chmod(tmp, st.mode & 0o7777);
	await fsp.rename(tmp, file);
	return true;
}

// ---- scenarios --------------------------------------------------------------

async function edit() {
	const text = await fsp.readFile('calc.c', 'utf8');
	say('bug_lines', text.split('\n').flatMap((l, i) => l.includes('a - b') ? [i + 1] : []));
	let [rc, out] = await run('make', ['test']);
	say('before_rc', String(rc));
	say('before_fail', out.split('\n').filter(l => l.startsWith('FAIL')));
	say('edited', String(await editFile('calc.c', 'return a - b;', 'return a + b;')));
	say('reread', fs.readFileSync('calc.c', 'utf8').split('\n')
	    .filter(l => l.includes('int add')).map(l => l.trim()));
	say('tmp_left', fs.readdirSync('.').filter(n => n.startsWith('.') && n.endsWith('.tmp')).sort());
	[rc, out] = await run('make', ['test']);
	say('after_rc', String(rc));
	say('after_out', out.split('\n').filter(l =>
	    l.includes('passed') || l.includes('ran on') || l.startsWith('FAIL')));
}

// the files the build scenario writes, the same for both programs
const PROJECT = JSON.parse(fs.readFileSync(
    new URL('agentlike_project.json', import.meta.url), 'utf8'));

// spawn, as agents run their shell tool: collect output, await the close
function spawnCollect(file, args, opts = {}) {
	return new Promise(resolve => {
		const p = cp.spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
		let out = '';
		p.stdout.on('data', d => out += d);
		p.stderr.on('data', d => out += d);
		p.on('error', e => resolve([-1, String(e)]));
		p.on('close', (code, sig) => resolve([code === null ? sig : code, out]));
	});
}

async function build() {
	await Promise.all(Object.entries(PROJECT).map(([n, t]) =>
	    fsp.writeFile(n, t, { mode: n.endsWith('.sh') ? 0o755 : 0o644 })));
	say('wrote', fs.readdirSync('.').sort());
	let [rc, out] = await spawnCollect('make', []);
	say('make_rc', String(rc));
	say('make_cmds', out.split('\n').filter(l => l.trim()).map(l => l.split(/\s+/)[0]));
	let built = true;
	try { fs.accessSync('hello', fs.constants.X_OK); } catch { built = false; }
	say('built', String(built));
	[rc, out] = await run('./hello', []);
	say('run', `${rc} ${out.trim()}`);
	[rc, out] = await run('./check.sh', []);
	say('script', `${rc} ${out.trim()}`);
	const ident = ['-c', 'user.name=Agent Like', '-c', 'user.email=agent@example.invalid'];
	const rcs = [];
	for (const s of [['init', '-q'], ['add', '-A'],
	    [...ident, 'commit', '-q', '-m', 'add hello program (node)']])
		rcs.push((await run('git', s))[0]);
	say('git_rcs', rcs);
	// exec: through /bin/sh, as a Bash tool does
	out = await new Promise(r => cp.exec('git log --format=%s', (e, o, er) => r(o + er)));
	say('git_log', out.trim());
	say('git_status', cp.execSync('git status --porcelain').toString().trim());
	say('git_dir', String(fs.existsSync('.git/objects') && fs.statSync('.git/objects').isDirectory()));
}

async function walk(dir, out, dirs) {
	for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
		const p = `${dir}/${d.name}`;
		if (d.isDirectory()) {
			dirs.n++;
			await walk(p, out, dirs);
		} else {
			out.push(p);
		}
	}
	return out;
}

async function search() {
	const dirs = { n: 0 };
	const files = (await walk('tree', [], dirs)).sort();
	say('walk', `${files.length} files ${dirs.n} dirs ${md5Lines(files)}`);
	const all = fs.readdirSync('tree', { recursive: true }).map(p => `tree/${p}`);
	const py = all.filter(p => p.endsWith('.py')).sort();
	say('glob', `${py.length} ${md5Lines(py)}`);
	const c = (await fsp.readdir('tree', { recursive: true }))
	    .map(p => `tree/${p}`).filter(p => p.endsWith('.c')).sort();
	say('rglob', `${c.length} ${md5Lines(c)}`);
	// read every file, 32 at a time (libuv's thread pool)
	const hits = [];
	for (let i = 0; i < files.length; i += 32) {
		const chunk = files.slice(i, i + 32);
		const texts = await Promise.all(chunk.map(f => fsp.readFile(f, 'utf8')));
		texts.forEach((t, j) => { if (t.includes('NEEDLE_zmx')) hits.push(chunk[j]); });
	}
	say('grep_inproc', `${hits.length} ${md5Lines(hits)}`);
	let [rc, out] = await run('grep', ['-rl', 'NEEDLE_zmx', 'tree'], { maxBuffer: 1 << 24 });
	const g = out.split(/\s+/).filter(Boolean).sort();
	say('grep_cmd', `${rc} ${g.length} ${md5Lines(g)}`);
	out = await new Promise(r => cp.exec("find tree -type f -name '*.py'", { maxBuffer: 1 << 24 },
	    (e, o) => r([e ? e.code : 0, o])));
	const f = out[1].split(/\s+/).filter(Boolean).sort();
	say('find_cmd', `${out[0]} ${f.length} ${md5Lines(f)}`);
	say('agree', String(md5Lines(g) === md5Lines(hits) && md5Lines(f) === md5Lines(py)));
}

async function timeout() {
	const t0 = Date.now();
	const secs = () => Math.round((Date.now() - t0) / 1000);
	// exec with a timeout: SIGTERM to its shell
	const byExec = new Promise(r => cp.exec('echo partial; sleep 61', { timeout: 4000 }, (e, out) =>
	    r(e ? `killed=${e.killed} signal=${e.signal} ${secs()} ${out.trim()}` : 'not killed')));
	// execFile with a timeout and SIGKILL
	const byExecFile = new Promise(r => cp.execFile('sleep', ['62'],
	    { timeout: 4000, killSignal: 'SIGKILL' }, e =>
	    r(e ? `killed=${e.killed} signal=${e.signal}` : 'not killed')));
	// spawn in a process group of its own, which the agent's own timer
	// kills (as tree-kill does)
	const bySpawn = new Promise(r => {
		const p = cp.spawn('sh', ['-c', 'sleep 63'], { stdio: 'ignore', detached: true });
		const timer = setTimeout(() => process.kill(-p.pid, 'SIGKILL'), 4000);
		p.on('exit', (code, sig) => { clearTimeout(timer); r(`exit ${code} ${sig}`); });
	});
	await sleep(1500);
	signalTest('timeout-running');
	const [a, b, c] = await Promise.all([byExec, byExecFile, bySpawn]);
	say('exec', a);
	say('execFile', b);
	say('spawn', c);
	const el = (Date.now() - t0) / 1000;
	say('elapsed_ok', String(el > 3.5 && el < 20));
	signalTest('timeout-killed');
	await waitForTest('timeout-checked');
}

async function pollFile(name, seconds = 30) {
	const end = Date.now() + seconds * 1000;
	while (Date.now() < end) {
		if (fs.existsSync(name)) {
			const t = fs.readFileSync(name, 'utf8');
			if (t.endsWith('\n'))
				return t.trim();
		}
		await sleep(100);
	}
	return '(never appeared)';
}

async function bg() {
	let t0 = Date.now();
	const p = cp.spawn('sh', ['-c', 'sleep 2; echo bg-done $(uname -n) > bg.out; echo collected'],
	    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
	p.unref();
	let out = '';
	p.stdout.on('data', d => out += d);
	const closed = new Promise(r => p.on('close', code => r(code)));
	say('popen_returned_early', String(Date.now() - t0 < 1500));
	say('early_exists', String(fs.existsSync('bg.out')));
	await fsp.writeFile('notes.txt', 'working while the command runs\n');
	say('bg_file', await pollFile('bg.out'));
	// collect it now: wait for it again (unref'd, its end would not keep
	// node's loop alive once its stdout closed)
	p.ref();
	const code = await closed;
	say('collected', `${code} ${out.trim()}`);
	t0 = Date.now();
	let rc = 0;
	try {
		cp.execSync('(sleep 2; echo bg2 $(uname -n) > bg2.out) > /dev/null 2>&1 &', { timeout: 30000 });
	} catch (e) {
		rc = e.status;
	}
	say('detached', `${rc} ${Date.now() - t0 < 1500}`);
	say('bg2_file', await pollFile('bg2.out'));
	// as Claude Code's Bash tool (see agentlike.py)
	const tdir = `/tmp/agentlike-node-${process.pid}`;
	fs.mkdirSync(tdir, { recursive: true });
	say('task_dir', tdir);
	const fd = fs.openSync(`${tdir}/task.output`, 'w');
	const task = cp.spawn('sh', ['-c', `echo start $(uname -n); sleep 2; echo end; pwd -P > ${tdir}/cwd`],
	    { stdio: ['ignore', fd, fd] });
	fs.closeSync(fd);
	const taskDone = new Promise(r => task.on('exit', code => r(code)));
	const seen = [];
	const end = Date.now() + 30000;
	while (Date.now() < end) {
		const text = fs.readFileSync(`${tdir}/task.output`, 'utf8');
		if (text && !seen.includes(text))
			seen.push(text);
		if (text.includes('end\n'))
			break;
		await sleep(100);
	}
	say('task_seen', seen.map(x => x.replace(/\n/g, '|')));
	say('task_rc', String(await taskDone));
	say('task_cwd', fs.readFileSync(`${tdir}/cwd`, 'utf8').trim());
}

async function fresh() {
	say('first', fs.readFileSync('config.txt', 'utf8').trim());
	say('list1', fs.readdirSync('.').sort());
	say('size1', String(fs.statSync('config.txt').size));
	signalTest('fresh-read');
	const rl = readline.createInterface({ input: process.stdin });
	const line = await new Promise(r => rl.once('line', r));
	rl.close();
	say('told', line.trim());
	say('second', (await fsp.readFile('config.txt', 'utf8')).trim());
	say('list2', (await fsp.readdir('.')).sort());
	say('size2', String((await fsp.stat('config.txt')).size));
	say('gone_exists', String(fs.existsSync('gone.txt')));
	say('added', fs.readFileSync('added.txt', 'utf8').trim());
	fs.writeFileSync('config.txt', 'value=three (agent)\n');
}

// one thread's share of the threads scenario: write, read back, read the
// shared file, append to the log; sync calls in workers, promises in main
function workSync(name, want) {
	fs.mkdirSync(name, { recursive: true });
	let ok = 0, same = 0;
	for (let i = 0; i < 25; i++) {
		const p = `${name}/${String(i).padStart(2, '0')}.txt`;
		const body = `${name} file ${i}\n`.repeat(i + 1);
		fs.writeFileSync(p, body);
		ok += fs.readFileSync(p, 'utf8') === body;
		same += crypto.createHash('md5').update(fs.readFileSync('shared.txt')).digest('hex') === want;
		fs.appendFileSync('log.txt', `${name} ${i}\n`);
	}
	return [ok, same];
}

async function workAsync(name, want) {
	await fsp.mkdir(name, { recursive: true });
	let ok = 0, same = 0;
	for (let i = 0; i < 25; i++) {
		const p = `${name}/${String(i).padStart(2, '0')}.txt`;
		const body = `${name} file ${i}\n`.repeat(i + 1);
		await fsp.writeFile(p, body);
		ok += (await fsp.readFile(p, 'utf8')) === body;
		same += crypto.createHash('md5').update(await fsp.readFile('shared.txt')).digest('hex') === want;
		await fsp.appendFile('log.txt', `${name} ${i}\n`);
	}
	return [ok, same];
}

async function threads() {
	const want = crypto.createHash('md5').update(fs.readFileSync('shared.txt')).digest('hex');
	const workers = [0, 1, 2, 3].map(k => new Promise((resolve, reject) => {
		const w = new Worker(new URL(import.meta.url),
		    { workerData: { name: `t${k}`, want, cwd: process.cwd() } });
		w.on('message', resolve);
		w.on('error', reject);
	}));
	const results = await Promise.all([workAsync('main', want), ...workers]);
	say('verified', results.reduce((s, r) => s + r[0], 0));
	say('shared_same', results.reduce((s, r) => s + r[1], 0));
	say('log_lines', fs.readFileSync('log.txt', 'utf8').split('\n').filter(Boolean).length);
	say('files', ['main', 't0', 't1', 't2', 't3'].reduce((s, n) => s + fs.readdirSync(n).length, 0));
}

const SCENARIOS = { edit, build, search, timeout, bg, fresh, threads };

if (!isMainThread) {
	// a worker: process.cwd() is shared with the main thread
	parentPort.postMessage(workSync(workerData.name, workerData.want));
} else {
	const [scenario, dir] = process.argv.slice(2);
	if (!SCENARIOS[scenario] || !dir) {
		console.error(`usage: agentlike_node.mjs {${Object.keys(SCENARIOS).join('|')}} PROJECT_DIR`);
		process.exit(2);
	}
	process.chdir(dir);
	say('cwd', process.cwd());
	try {
		await SCENARIOS[scenario]();
		say('end', scenario);
	} catch (e) {
		say('error', `${e.code || ''} ${e.message}`);
		process.exitCode = 1;
	}
}
