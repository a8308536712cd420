#!/bin/bash
# run.t - every libFuzzer target in tests/fuzz finds no crash, leak, UB or
# failed check in ${ZMX_FUZZ_SECONDS:-60} seconds, starting from its seed
# corpus in tests/fuzz/corpus/<target>/.
#
# Targets run ${ZMX_FUZZ_JOBS:-2} at a time. Each works on a scratch copy
# of its corpus, so the committed seeds never grow. A crashing input is
# kept in build-fuzz/artifacts/<target>/ and named in the failure; rerun
# it with `build-fuzz/<target> FILE`.
#
# ZMX_FUZZ_BUILD: where the targets are built (default build-fuzz/).
# ZMX_FUZZ_CC: the compiler (default clang); without libFuzzer, skips.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${ZMX_FUZZ_SECONDS:-60}
jobs=${ZMX_FUZZ_JOBS:-2}
cc=${ZMX_FUZZ_CC:-clang}
fb=${ZMX_FUZZ_BUILD:-$top/build-fuzz}
scratch=$(mktemp -d /var/tmp/zmxfuzz.XXXXXX)
pids=()
failed=0
cleanup() {
	local p

	# the fuzzers first, by their own pids, then their shells
	for p in "$scratch"/*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# libFuzzer ships with clang's compiler-rt; a clang without it cannot link
# -fsanitize=fuzzer, so try that on an empty target first.
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "1..0 # SKIP $cc not found (libFuzzer targets need clang)"
	exit 0
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)'\
'{ (void)d; (void)n; return 0; }\n' >"$scratch/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$scratch/probe" \
    "$scratch/probe.c" >"$scratch/probe.log" 2>&1; then
	echo "1..0 # SKIP $cc cannot link -fsanitize=fuzzer,address,undefined" \
	    "(libclang-rt-dev missing?): $(head -1 "$scratch/probe.log")"
	exit 0
fi

targets=()
for src in "$top"/tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	t=${src##*/}
	targets+=("${t%.c}")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "1..0 # SKIP no tests/fuzz/fuzz_*.c"
	exit 0
fi

if ! make -C "$top" --no-print-directory FUZZ_CC="$cc" FUZZ_B="$fb" \
    fuzz-build >"$scratch/build.log" 2>&1; then
	echo "Bail out! the fuzz targets do not build:"
	sed 's/^/# /' "$scratch/build.log" | tail -40
	exit 1
fi

echo "1..${#targets[@]}"

# run_one TARGET: fuzz for $secs seconds; exit status in $scratch/T.rc
run_one() {
	local t=$1 dict=()

	rm -rf "$fb/artifacts/$t"
	mkdir -p "$fb/artifacts/$t" "$scratch/corpus/$t"
	cp -r "$top/tests/fuzz/corpus/$t/." "$scratch/corpus/$t/" 2>/dev/null
	[ -f "$top/tests/fuzz/$t.dict" ] && dict=("-dict=$top/tests/fuzz/$t.dict")
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=detect_leaks=1:${ASAN_OPTIONS:-} \
	    "$fb/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix="$fb/artifacts/$t/" "${dict[@]}" \
	    "$scratch/corpus/$t" >"$scratch/$t.log" 2>&1 &
	echo $! >"$scratch/$t.pid"
	wait $!
	echo $? >"$scratch/$t.rc"
	rm -f "$scratch/$t.pid"
}

report() {
	local t=$1 rc crash runs cov

	rc=$(cat "$scratch/$t.rc" 2>/dev/null || echo 99)
	crash=$(find "$fb/artifacts/$t" -type f 2>/dev/null | head -1)
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' \
	    "$scratch/$t.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$scratch/$t.log" | \
	    tail -1)
	if [ "$rc" = 0 ] && [ -z "$crash" ]; then
		echo "ok - $t: no crash in $secs s ($runs; $cov)"
		rmdir "$fb/artifacts/$t" 2>/dev/null
		return
	fi
	failed=$((failed + 1))
	echo "not ok - $t: exit status $rc${runs:+ after $runs}"
	if [ -n "$crash" ]; then
		echo "#   crashing input: $crash"
		echo "#   reproduce: $fb/$t $crash"
	fi
	# the sanitizer's or libFuzzer's own account, without the noise
	grep -E -A25 '^==[0-9]+==(ERROR|WARNING)|runtime error:|^fuzz_[a-z]+:|deadly signal|out-of-memory|timeout after' \
	    "$scratch/$t.log" | head -45 | sed 's/^/#   /'
	cp "$scratch/$t.log" "$fb/artifacts/$t/log" 2>/dev/null &&
	    echo "#   full log: $fb/artifacts/$t/log"
}

i=0
while [ $i -lt ${#targets[@]} ]; do
	batch=("${targets[@]:$i:$jobs}")
	pids=()
	for t in "${batch[@]}"; do
		run_one "$t" &
		pids+=($!)
	done
	wait
	pids=()
	for t in "${batch[@]}"; do
		report "$t"
	done
	i=$((i + jobs))
done
[ "$failed" -eq 0 ]
