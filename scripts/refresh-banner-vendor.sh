#!/usr/bin/env bash
# Refresh the vendored cookie banner (vanilla-cookieconsent, MIT) from the npm registry:
#   scripts/refresh-banner-vendor.sh 3.1.0
# Only the built files are kept (dist/cookieconsent.umd.js and dist/cookieconsent.css), with the package's
# LICENSE and a VERSION file. Nothing is built here and nothing is needed to run dataright but these files.
set -euo pipefail
version="${1:?usage: $0 VERSION (e.g. 3.1.0)}"
case "$version" in
  3.*) ;;
  *) echo "error: dataright's banner glue is written for vanilla-cookieconsent 3.x, not $version" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/src/dataright/cookies/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "vanilla-cookieconsent@$version" >/dev/null && tar xzf "vanilla-cookieconsent-$version.tgz")
for f in dist/cookieconsent.umd.js dist/cookieconsent.css LICENSE; do
  [ -f "$work/package/$f" ] || { echo "error: vanilla-cookieconsent@$version has no $f" >&2; exit 1; }
done
mkdir -p "$dest"
cp "$work/package/dist/cookieconsent.umd.js" "$work/package/dist/cookieconsent.css" "$work/package/LICENSE" "$dest/"
echo "$version" > "$dest/VERSION"
echo "vendored vanilla-cookieconsent $version into ${dest#"$root"/}"
(cd "$dest" && sha256sum cookieconsent.umd.js cookieconsent.css)
