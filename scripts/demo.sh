#!/usr/bin/env bash
# A real two-way sync with no Yandex account: two "computers" (two local folders, each with
# its own yasyncd state) sync one folder of the bundled Yandex Disk emulator. Edits on both
# sides, a delete and a conflict included. Run it with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
DEMO=${DEMO_DIR:-$PWD/demo}

rm -rf "$DEMO"
mkdir -p "$DEMO"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
tree() { (cd "$1" && find . -path ./.yasyncd -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do printf '  %-45s %s\n' "$f" "$(head -c 40 "$f" | tr '\n' ' ')"; done); }

step "Starting the Yandex Disk emulator (files kept in $DEMO/disk)"
"$BIN/yandexemu" -token demo-token -data "$DEMO/disk" >"$DEMO/emulator.out" 2>"$DEMO/emulator.log" &
EMU=$!
trap 'kill $EMU 2>/dev/null; wait $EMU 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DEMO/emulator.out" ] && break; sleep 0.1; done
ORIGIN=$(head -n 1 "$DEMO/emulator.out")
[ -n "$ORIGIN" ] || { echo "the emulator did not start; see $DEMO/emulator.log" >&2; exit 1; }
echo "  emulator at $ORIGIN"

export YASYNCD_API_URL=$ORIGIN YASYNCD_OAUTH_URL=$ORIGIN YASYNCD_TOKEN=demo-token
export YASYNCD_REMOTE_DIR=disk:/Sync YASYNCD_LOG_LEVEL=info YASYNCD_LOG_FORMAT=console
# sync NAME: one two-way pass of computer NAME, with its own folder and state.
sync() {
  echo "  \$ yasyncd --once    (on $1)"
  YASYNCD_LOCAL_DIR="$DEMO/$1" YASYNCD_STATE_DIR="$DEMO/state-$1" "$BIN/yasyncd" --once
}

step "Laptop: a few files, first sync (creates disk:/Sync and uploads)"
mkdir -p "$DEMO/laptop/docs"
echo "shopping: milk, bread" >"$DEMO/laptop/notes.txt"
echo "draft v1" >"$DEMO/laptop/docs/report.md"
echo "old stuff" >"$DEMO/laptop/old.txt"
sync laptop

step "Desktop: first sync downloads everything"
sync desktop
tree "$DEMO/desktop"

step "Both edit notes.txt differently; the laptop adds a file, the desktop deletes old.txt and edits the report"
echo "shopping: milk, bread, eggs (laptop)" >"$DEMO/laptop/notes.txt"
echo "holiday photos list" >"$DEMO/laptop/photos.txt"
echo "shopping: milk, bread, coffee (desktop)" >"$DEMO/desktop/notes.txt"
rm "$DEMO/desktop/old.txt"
echo "draft v2 (desktop)" >"$DEMO/desktop/docs/report.md"
sync laptop
sync desktop
sync laptop

step "Laptop now"
tree "$DEMO/laptop"
step "Desktop now"
tree "$DEMO/desktop"

step "Checking that both computers hold the same files"
diff -r -x .yasyncd "$DEMO/laptop" "$DEMO/desktop" && echo "  identical: the laptop's notes.txt kept the name (it reached the Disk first), the desktop's edit is kept as a conflict copy"
echo "  old.txt was deleted on the desktop: on the laptop it went to $DEMO/laptop/.yasyncd/trash/, on the Disk to its trash"
ls -R "$DEMO/laptop/.yasyncd/trash" | sed 's/^/    /'

step "A second pass changes nothing"
sync laptop
YASYNCD_LOCAL_DIR="$DEMO/laptop" YASYNCD_STATE_DIR="$DEMO/state-laptop" "$BIN/yasyncd" status
