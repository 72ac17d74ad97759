#!/usr/bin/env bash
# scripts/check-layers.sh
#
# Keeps the core layer pure (STYLE.md): a product file (common/ proto/ agent/ arbiter/) whose
# header comment says "Layer: core" may not include <curl/...>, <libpq-fe.h>, <sqlite3.h>,
# <microhttpd.h>, <unistd.h> or <sys/...>, nor read the clock (time(), clock_gettime(),
# gettimeofday()); time is passed in. "Layer: core+edge" files are edge files for this check.
# A .c file without any "Layer:" line gets a warning (not a failure).
# Prints file:line: message for each hit and exits 1 when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."

dirs=()
for d in common proto agent arbiter; do
    [[ -d "$d" ]] && dirs+=("$d")
done
if [[ ${#dirs[@]} -eq 0 ]]; then
    exit 0
fi

mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
if [[ ${#files[@]} -eq 0 ]]; then
    exit 0
fi

LC_ALL=C awk '
function finish_file() {
    if (prev != "" && !has_layer && prev ~ /\.c$/)
        printf "check-layers: warning: %s has no \"Layer: core|edge|shell\" line\n", prev > "/dev/stderr"
}
FNR == 1 {
    finish_file()
    prev = FILENAME
    core = 0
    has_layer = 0
    incomment = 0
}
# The layer is declared in the opening comment, within the first 30 lines.
FNR <= 30 && /Layer:/ {
    if (!has_layer) {
        has_layer = 1
        s = $0
        sub(/.*Layer:[ \t]*/, "", s)
        if (s ~ /^core([^A-Za-z0-9_+-]|$)/)
            core = 1
    }
}
core {
    line = $0
    # Drop block and line comments crudely (enough for includes and calls).
    if (incomment) {
        if (line ~ /\*\//) { sub(/.*\*\//, "", line); incomment = 0 } else next
    }
    gsub(/\/\*[^*]*\*+([^\/*][^*]*\*+)*\//, "", line)
    if (line ~ /\/\*/) { sub(/\/\*.*/, "", line); incomment = 1 }
    sub(/\/\/.*/, "", line)
    gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
    if (line ~ /^[ \t]*#[ \t]*include[ \t]*<(curl\/|libpq-fe\.h>|sqlite3\.h>|microhttpd\.h>|unistd\.h>|sys\/)/) {
        printf "%s:%d: core file includes an edge header: %s\n", FILENAME, FNR, $0
        hits++
    }
    if (match(" " line, /[^A-Za-z0-9_.>](time|clock_gettime|gettimeofday)[ \t]*\(/)) {
        printf "%s:%d: core file reads the clock (pass now in): %s\n", FILENAME, FNR, $0
        hits++
    }
}
END {
    finish_file()
    if (hits > 0) {
        printf "check-layers: %d violation(s) of the core layer\n", hits
        exit 1
    }
}
' "${files[@]}"
