#!/usr/bin/env bash
# scripts/deps.sh
#
# Makes sure a Debian 12 machine has what building and testing og-operator needs: the
# compilers and libraries, PostgreSQL 15 server binaries for the integration tests,
# clang-format, iproute2 and python3 (the tests' API-server emulator), and the unprivileged
# OS user the test PostgreSQL servers run as (PostgreSQL refuses to run as root).
#
# Executed (scripts/deps.sh) or sourced (. scripts/deps.sh) by scripts/test and scripts/demo.
# As root it installs what is missing with apt-get (apt-get update only when something is);
# as any other user it lists what is missing and fails. Exit/return status 0 when ready.
#
# Installing postgresql-15 makes Debian create and start a cluster "15/main" on port 5432;
# we stop it and mark it manual so it never runs beside the tests' own servers.
#
# Environment: OG_TEST_PGUSER (default ogtest) names the unprivileged user.

OG_DEPS_PACKAGES=(cmake gcc libc6-dev make pkg-config postgresql-15 libmicrohttpd-dev
    libcurl4-openssl-dev libcjson-dev libpq-dev libsqlite3-dev libcunit1-dev clang-format
    iproute2)

# Prints the packages of OG_DEPS_PACKAGES (plus python3 when no python3 runs) not installed.
og_deps_missing() {
    local pkg status
    for pkg in "${OG_DEPS_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        if [[ "$status" != "install ok installed" ]]; then
            echo "$pkg"
        fi
    done
    if ! command -v python3 >/dev/null 2>&1; then
        echo python3
    fi
}

# Stops the Debian default cluster 15/main and keeps it from starting at boot.
og_deps_quiet_main_cluster() {
    local conf=/etc/postgresql/15/main/start.conf
    if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql/15/main ]]; then
        pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
        if [[ -f "$conf" ]] && ! grep -qx 'manual' "$conf"; then
            echo manual >"$conf"
        fi
    fi
}

# Installs the given packages quietly; apt's errors still reach stderr.
og_deps_apt_install() {
    local log
    log=$(mktemp)
    echo "deps: installing: $*"
    if ! DEBIAN_FRONTEND=noninteractive apt-get -q update >"$log" 2>&1 ||
        ! DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            install "$@" >>"$log" 2>&1; then
        echo "deps: apt-get failed:" >&2
        tail -n 40 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# Creates the unprivileged test user when it does not exist yet.
og_deps_test_user() {
    local user="${OG_TEST_PGUSER:-ogtest}"
    if id -u "$user" >/dev/null 2>&1; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        # Not root: test servers run as ourselves and need no extra user.
        return 0
    fi
    echo "deps: creating user $user"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$user"
}

og_deps_main() {
    local missing
    missing=$(og_deps_missing | tr '\n' ' ')
    missing=${missing% }
    if [[ -n "$missing" ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "deps: missing packages: $missing" >&2
            echo "deps: run as root, or: apt-get install $missing" >&2
            return 1
        fi
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        og_deps_apt_install $missing || return 1
        if [[ " $missing " == *" postgresql-15 "* ]]; then
            og_deps_quiet_main_cluster
        fi
        missing=$(og_deps_missing | tr '\n' ' ')
        if [[ -n "${missing% }" ]]; then
            echo "deps: still missing after apt-get: $missing" >&2
            return 1
        fi
    fi
    if [[ $(id -u) -eq 0 && "${CI:-}" == "true" ]]; then
        og_deps_quiet_main_cluster
    fi
    og_deps_test_user || return 1
    return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    og_deps_main
else
    og_deps_main
fi
