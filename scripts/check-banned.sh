#!/usr/bin/env bash
# scripts/check-banned.sh
#
# Fails when product code (common/ proto/ agent/ arbiter/, *.c and *.h; tests are exempt) calls
# a function STYLE.md bans (after pg_auto_failover ci/banned.h.sh and curl checksrc):
#   strcpy strcat sprintf vsprintf gets strtok strncpy atoi atol atof system popen rand alloca
#   sleep usleep (wait on poll with a deadline instead);
#   exit() outside a main.c; malloc calloc realloc strdup strndup outside common/mem.c.
# Comments and string literals are skipped (crudely: no preprocessor awareness). A line that
# carries /* ALLOW-BANNED: reason */ is an audited exception.
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

# awk: strip comments (tracking /* */ across lines) and string/char literals, then match.
LC_ALL=C awk '
function report(name, why) {
    printf "%s:%d: banned %s() %s\n    %s\n", FILENAME, FNR, name, why, raw
    hits++
}
FNR == 1 {
    incomment = 0
    base = FILENAME
    sub(/.*\//, "", base)
}
{
    raw = $0
    line = $0
    out = ""
    # Remove comments and literals character by character.
    i = 1
    n = length(line)
    while (i <= n) {
        c = substr(line, i, 1)
        two = substr(line, i, 2)
        if (incomment) {
            if (two == "*/") { incomment = 0; i += 2; continue }
            i++
            continue
        }
        if (two == "/*") { incomment = 1; i += 2; out = out " "; continue }
        if (two == "//") break
        if (c == "\"" || c == "\047") {
            q = c
            i++
            while (i <= n) {
                c = substr(line, i, 1)
                if (c == "\\") { i += 2; continue }
                if (c == q) break
                i++
            }
            i++
            out = out q q
            continue
        }
        out = out c
        i++
    }
    if (raw ~ /ALLOW-BANNED:/)
        next
    code = " " out
    if (match(code, /[^A-Za-z0-9_](strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|atoi|atol|atof|system|popen|rand|alloca)[ \t]*\(/)) {
        name = substr(code, RSTART + 1, RLENGTH - 1)
        sub(/[ \t]*\($/, "", name)
        report(name, "(STYLE.md: use the checked helpers of common/str.h, common/proc.h)")
    }
    if (match(code, /[^A-Za-z0-9_](sleep|usleep)[ \t]*\(/)) {
        name = substr(code, RSTART + 1, RLENGTH - 1)
        sub(/[ \t]*\($/, "", name)
        report(name, "(STYLE.md: wait on poll() with a deadline)")
    }
    if (base != "main.c" && match(code, /[^A-Za-z0-9_.>]exit[ \t]*\(/))
        report("exit", "outside main.c (return an error instead)")
    if (FILENAME != "common/mem.c" && match(code, /[^A-Za-z0-9_.>](malloc|calloc|realloc|strdup|strndup)[ \t]*\(/)) {
        name = substr(code, RSTART + 1, RLENGTH - 1)
        sub(/[ \t]*\($/, "", name)
        report(name, "outside common/mem.c (use xmalloc and friends)")
    }
}
END {
    if (hits > 0) {
        printf "check-banned: %d banned call(s); mark an audited exception with /* ALLOW-BANNED: reason */\n", hits
        exit 1
    }
}
' "${files[@]}"
