#!/usr/bin/env bash
# Refreshes dashboard/static/vendor/uplot/ from the npm registry, pinned by package.json and
# package-lock.json beside this script (npm ci checks the tarball's sha512 against the lock).
#   deploy/vendor/fetch.sh          install exactly what the lock file names
#   deploy/vendor/fetch.sh --update re-resolve package.json and rewrite package-lock.json
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest="$(cd "$here/../.." && pwd)/dashboard/static/vendor/uplot"
command -v npm >/dev/null || { echo "npm not found: apt-get install npm" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
if [ "${1:-}" != --update ] && [ -f "$here/package-lock.json" ]; then
    cp "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
else
    (cd "$work" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$work/package-lock.json" "$here/package-lock.json"
fi

pkg="$work/node_modules/uplot"
mkdir -p "$dest"
cp "$pkg/dist/uPlot.iife.min.js" "$pkg/dist/uPlot.min.css" "$pkg/LICENSE" "$dest/"
node -e '
const lock = require(process.argv[1]).packages["node_modules/uplot"];
const name = require(process.argv[2]).name;
process.stdout.write(`${name}@${lock.version}\n${lock.integrity}\n`);
' "$work/package-lock.json" "$pkg/package.json" > "$dest/VERSION"
echo "vendored $(head -1 "$dest/VERSION") into $dest"
