#!/usr/bin/env bash
# Regenerates docs/blocks.md from the blocks' own descriptions
# (netloom inspect --markdown). A test fails when the committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/netloom}
"$bin" inspect --markdown > docs/blocks.md
echo "wrote docs/blocks.md"
