#!/usr/bin/env bash
# The main job: back up the AICO home. Without a real home, seed a sample one
# first (under .sample/, built with the real databases) so a new user sees the
# whole cycle: create, verify, list. AICO_SAMPLE_MB sizes the sample (default 64).
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
node bin/aico.js --home "$home" demo seed --size "${AICO_SAMPLE_MB:-64}" --if-missing
# Asked again quietly, now the home exists, only for its key (--json would also print progress as JSON lines).
seeded=$(node bin/aico.js --home "$home" --json demo seed --if-missing)
# The sample's master key and password protect nothing real; never do this for real data.
AICO_MASTER_KEY=$(node -e 'console.log(JSON.parse(process.argv[1]).master_key)' "$seeded")
export AICO_MASTER_KEY
export AICO_BACKUP_PASSWORD="${AICO_BACKUP_PASSWORD:-sample-password}"
node bin/aico.js --home "$home" backup create --output "$out" "$@"
latest=$(ls -t "$out"/aico-backup-*.enc | head -1)
node bin/aico.js backup verify "$latest"
node bin/aico.js backup list "$out"
echo
echo "Next, see what is in it (the password is $AICO_BACKUP_PASSWORD; you will be asked for it):"
printf '  node bin/aico.js backup info %q\n' "$latest"
echo "or open the terminal UI on the sample:"
printf '  node bin/aico.js --home %q --output %q\n' "$home" "$out"
