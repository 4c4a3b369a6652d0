#!/usr/bin/env bash
# Makes a git repository of the `notes` test app with three tags, the way its developers would
# have committed it:
#   v1.0  the app, migration 0001
#   v1.1  + migration 0002 (a new release with a migration)
#   v1.2  a text change only (a new release without a migration)
#   make_repo.sh DEST    (DEST must not exist; prints nothing on success)
set -euo pipefail
src=$(cd "$(dirname "$0")/notes" && pwd)
dest=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git() { command git -C "$work" -c user.name=dev -c user.email=dev@notes.test "$@"; }
git init --quiet --initial-branch=main
cp -r "$src"/. "$work"/
rm "$work/migrations/versions/0002_tags.py"
printf '1.0\n' > "$work/RELEASE"
git add -A && git commit --quiet -m "Notes 1.0" && git tag v1.0
cp "$src/migrations/versions/0002_tags.py" "$work/migrations/versions/"
printf '1.1\n' > "$work/RELEASE"
git add -A && git commit --quiet -m "Notes 1.1: tags" && git tag v1.1
printf '1.2\n' > "$work/RELEASE"
git add -A && git commit --quiet -m "Notes 1.2" && git tag v1.2
command git clone --quiet --bare "$work" "$dest"
