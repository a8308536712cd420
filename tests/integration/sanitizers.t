#!/bin/bash
# The integration tests again with the shim and agentd built with ASan and
# UBSan, and with agentd under valgrind: no report from either.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
if ! make -s -C "$top" asan >"$T/asan-build.log" 2>&1; then
	ok 1 "make asan builds"
	tail -20 "$T/asan-build.log" | sed 's/^/# /'
	done_testing
	exit 1
fi

# tests that drive many different programs through the shim, and
# agentd's fault and abuse tests
for t in coreutils bash python git faults abuse session identity proc exec sud; do
	f=$top/tests/integration/$t.t
	[ -f "$f" ] || continue
	out=$(ZMX_BUILD=$top/build-asan ZMX_ASAN=1 bash "$f" 2>&1)
	rc=$?
	ok $rc "$t.t with the shim and agentd under ASan and UBSan"
	[ $rc -eq 0 ] || printf '%s\n' "$out" | grep -v '^ok' | head -30 |
	    sed 's/^/#   /'
done
for t in coreutils python identity abuse proc; do
	f=$top/tests/integration/$t.t
	[ -f "$f" ] || continue
	out=$(ZMX_AGENTD_VALGRIND=1 ZMX_TIMEOUT_MS=30000 ZMX_FLOOD=300 \
	    bash "$f" 2>&1)
	rc=$?
	ok $rc "$t.t with agentd under valgrind"
	[ $rc -eq 0 ] || printf '%s\n' "$out" | grep -v '^ok' | head -30 |
	    sed 's/^/#   /'
done
done_testing
