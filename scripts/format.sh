#!/usr/bin/env bash
# scripts/format.sh
#
# clang-format (the root .clang-format) over every *.c and *.h, tracked or not, under common/
# proto/ agent/ arbiter/ tests/ bench/.
#   scripts/format.sh           rewrites the files in place
#   scripts/format.sh --check   changes nothing; lists the files that need formatting, exit 1
# Environment: CLANG_FORMAT (default clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fix
case "${1:-}" in
"") ;;
--check) mode=check ;;
-h | --help)
    sed -n '3,8p' "$0"
    exit 0
    ;;
*)
    echo "usage: scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac

cf="${CLANG_FORMAT:-clang-format}"
if ! command -v "$cf" >/dev/null 2>&1; then
    echo "format: $cf not found (scripts/deps.sh installs clang-format)" >&2
    exit 2
fi

dirs=()
for d in common proto agent arbiter tests bench; do
    [[ -d "$d" ]] && dirs+=("$d")
done
if [[ ${#dirs[@]} -eq 0 ]]; then
    exit 0
fi
mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
if [[ ${#files[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$mode" == fix ]]; then
    "$cf" -i --style=file "${files[@]}"
    exit 0
fi

bad=()
for f in "${files[@]}"; do
    if ! "$cf" --dry-run -Werror --style=file "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
    for f in "${bad[@]}"; do
        echo "format: needs clang-format: $f"
    done
    echo "format: ${#bad[@]} file(s) need formatting; run scripts/format.sh"
    exit 1
fi
