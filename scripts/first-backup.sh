#!/usr/bin/env bash
# The main job: back up the AICO home. Without a real home, seed a sample one
# first (under .sample/, built with the real databases) so a new user sees the
# whole cycle: create, verify, list.
set -euo pipefail
cd "$(dirname "$0")/.."
real_home="${AICO_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/aico}"
if [ -d "$real_home/data" ] || [ -d "$real_home/config" ]; then
  echo "Backing up your AICO home: $real_home"
  node bin/aico.js --home "$real_home" backup create "$@"
  exit
fi
home="$PWD/.sample/aico-home"
out="$PWD/.sample/backups"
echo "No AICO home at $real_home; using a sample home in $home."
seeded=$(node bin/aico.js --home "$home" --json demo seed --size 64 --if-missing)
# The sample's master key and password protect nothing real; never do this for real data.
AICO_MASTER_KEY=$(node -e 'console.log(JSON.parse(process.argv[1]).master_key)' "$seeded")
export AICO_MASTER_KEY
export AICO_BACKUP_PASSWORD="${AICO_BACKUP_PASSWORD:-sample-password}"
node bin/aico.js --home "$home" backup create --output "$out" "$@"
node bin/aico.js backup verify "$(ls -t "$out"/aico-backup-*.enc | head -1)"
node bin/aico.js backup list "$out"
echo "Sample password: $AICO_BACKUP_PASSWORD (try: node bin/aico.js backup info --password-stdin FILE)"
