#!/bin/sh
# The revision a measurement ran: `git describe --always`, with "-dirty" when a tracked
# file outside results/ differs from it.  A run rewrites its own CSV under results/, and
# that is not a change to what was measured.  Prints "unknown" outside git.
cd "$(dirname "$0")/.." 2>/dev/null || { echo unknown; exit 0; }
rev=$(git describe --always 2>/dev/null) || { echo unknown; exit 0; }
if [ -n "$(git status --porcelain --untracked-files=no -- . ':(exclude)results' 2>/dev/null)" ]; then
    rev="$rev-dirty"
fi
echo "$rev"
