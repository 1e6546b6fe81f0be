#!/usr/bin/env bash
# Vendor the dashboard's chart library into meshlens/web/vendor/ from the npm registry.
# Repeatable: an exact version, its tarball checked against a pinned sha256, and only the
# browser bundle and its licence copied out. To upgrade, change VERSION and SHA256 (the
# script prints the new digest when they disagree), run it, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=chart.js
VERSION=4.6.1
SHA256=9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00
DEST=meshlens/web/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(cd "$work" && npm pack --silent "$PACKAGE@$VERSION")
actual=$(sha256sum "$work/$tarball" | cut -d' ' -f1)
if [[ "$actual" != "$SHA256" ]]; then
    echo "sha256 mismatch for $PACKAGE@$VERSION: got $actual, expected $SHA256" >&2
    exit 1
fi
tar -xzf "$work/$tarball" -C "$work" package/dist/chart.umd.min.js package/LICENSE.md
mkdir -p "$DEST"
# The bundle names a source map that is not vendored; browsers only ask for it in devtools.
cp "$work/package/dist/chart.umd.min.js" "$DEST/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$DEST/chart.js-LICENSE.md"
echo "$PACKAGE@$VERSION sha256=$SHA256" > "$DEST/VERSIONS.txt"
echo "vendored $PACKAGE@$VERSION into $DEST"
