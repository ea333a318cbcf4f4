#!/usr/bin/env bash
# Installs the real Heroku CLI (npm package `heroku`, major 11) into a scratch folder, outside the
# repository, for test/conformance.test.ts. About 400 MB and 2 minutes on a fresh machine.
#
#   emulator/heroku/install-cli.sh [DIR]      (DIR defaults to $HEROKU_CLI_DIR or /tmp/herokucli)
#
# Prints the path of the `heroku` binary; the conformance test finds it there, or through
# HEROKU_CLI_BIN. Idempotent: an existing install of the same major is reused.
set -euo pipefail

DIR="${1:-${HEROKU_CLI_DIR:-/tmp/herokucli}}"
BIN="$DIR/node_modules/.bin/heroku"
VERSION_RANGE="${HEROKU_CLI_VERSION:-11}"

mkdir -p "$DIR"
cd "$DIR"

# Another install may be running in the same folder (npm holds no lock across processes).
for _ in $(seq 1 120); do
  if pgrep -f "npm.* i(nstall)? .*heroku@" >/dev/null 2>&1 && [ ! -x "$BIN" ]; then sleep 5; else break; fi
done

if [ -x "$BIN" ] && node -e "const v=require('./node_modules/heroku/package.json').version; process.exit(v.split('.')[0]===process.argv[1]?0:1)" "${VERSION_RANGE%%.*}" 2>/dev/null; then
  echo "$BIN"
  exit 0
fi

[ -f package.json ] || npm init -y >/dev/null
npm i "heroku@${VERSION_RANGE}" --no-audit --no-fund >&2
[ -x "$BIN" ] || { echo "install-cli.sh: npm finished but $BIN is missing" >&2; exit 1; }
echo "$BIN"
