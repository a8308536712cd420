#!/bin/bash
# git through the portal works on a repository that exists only remotely:
# status, diff, add, commit, log and branches; the commits it makes are in
# the remote repository, which plain git finds whole (fsck clean).
. "$(dirname "$0")/../lib.sh"

# git runs here, with its config local; only its file operations go remote.
export HOME=$T/home GIT_PAGER=cat PAGER=cat GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
mkdir -p "$HOME"
cat > "$HOME/.gitconfig" <<'EOF'
[user]
	name = Zmx Test
	email = zmx@example.invalid
[init]
	defaultBranch = main
[advice]
	detachedHead = false
EOF

# The repository, made on the remote side directly (outside the portal).
mkdir -p "$R/ws/src"
printf '# zmx test\n' > "$R/ws/README.md"
printf 'int main(void) { return 0; }\n' > "$R/ws/src/main.c"
git -C "$R/ws" init -q
git -C "$R/ws" add -A
git -C "$R/ws" commit -qm initial
zmx_start_agentd

out=$(zmx_run git status 2>&1)
like "$out" "On branch main" "git status finds the remote repository"
like "$out" "nothing to commit, working tree clean" "and its work tree is clean"

printf 'made remotely\n' > "$R/ws/remote-only.txt"
out=$(zmx_run git status --porcelain 2>&1)
is "$out" "?? remote-only.txt" "a file made only remotely is untracked"

out=$(zmx_run bash -c 'echo "appended via portal" >> README.md' 2>&1)
is "$out" "" "echo >> README.md"
is "$(cat "$R/ws/README.md")" "$(printf '# zmx test\nappended via portal')" \
    "the edit is on the remote side"

out=$(zmx_run git diff 2>&1)
like "$out" "^diff --git a/README.md b/README.md" "git diff names the edited file"
like "$out" "^\+appended via portal$" "git diff shows the added line"

out=$(zmx_run git add README.md remote-only.txt 2>&1)
is "$out" "" "git add prints nothing"
out=$(zmx_run git status --porcelain 2>&1)
is "$out" "$(printf 'M  README.md\nA  remote-only.txt')" "both are staged"

out=$(zmx_run git commit -m "second via portal" 2>&1)
like "$out" "^\[main [0-9a-f]+\] second via portal" "git commit made a commit"
like "$out" "2 files changed" "of both files"

out=$(zmx_run git log --oneline 2>&1)
is "$out" "$(git -C "$R/ws" log --oneline 2>&1)" \
    "git log --oneline through the portal is the remote repository's log"
is "$(printf '%s\n' "$out" | sed 's/^[0-9a-f]\{7,\} //')" \
    "$(printf 'second via portal\ninitial')" "git log --oneline shows 2 commits"

out=$(zmx_run git checkout -b feature 2>&1)
is "$out" "Switched to a new branch 'feature'" "git checkout -b feature"
out=$(zmx_run git branch 2>&1)
is "$out" "$(printf '* feature\n  main')" "git branch lists both, feature current"
out=$(zmx_run git checkout main 2>&1)
is "$out" "Switched to branch 'main'" "git checkout main"
out=$(zmx_run git status --porcelain --branch 2>&1)
is "$out" "## main" "back on main, clean"

# What plain git sees on the remote side.
is "$(git -C "$R/ws" log --format=%s 2>&1)" "$(printf 'second via portal\ninitial')" \
    "the remote repository has both commits"
is "$(git -C "$R/ws" show --name-status --format= HEAD 2>&1)" \
    "$(printf 'M\tREADME.md\nA\tremote-only.txt')" "the portal commit changed both files remotely"
is "$(git -C "$R/ws" status --porcelain 2>&1)" "" "the remote work tree and index are clean"
is "$(git -C "$R/ws" branch --format='%(HEAD)%(refname:short)' 2>&1)" \
    "$(printf ' feature\n*main')" "the remote repository has both branches, main checked out"
is "$(git -C "$R/ws" rev-parse feature 2>&1)" "$(git -C "$R/ws" rev-parse main 2>&1)" \
    "feature points at the portal commit"
out=$(git -C "$R/ws" fsck --strict 2>&1; echo "status $?")
is "$out" "status 0" "git fsck on the remote repository is clean"
is "$(git -C "$R/ws" log -1 --format='%an <%ae>' 2>&1)" "Zmx Test <zmx@example.invalid>" \
    "the commit carries the local git config's identity"

ok $([ ! -e "$WS/.git" ]; echo $?) "no .git appeared on the local side"
local_untouched
done_testing
