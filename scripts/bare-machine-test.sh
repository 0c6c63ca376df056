#!/usr/bin/env bash
# Runs `npm test` as a machine with only Node and npm would: in a private mount and network
# namespace (needs root), where
#   - the network is a loopback of its own: no Redis or MySQL/MariaDB on 127.0.0.1, no internet;
#   - the Debian Chromium, redis-server, mariadbd and the MariaDB tools are /dev/null, and
#     /usr/lib/chromium is an empty tmpfs;
#   - the system libraries and fonts Chromium would use are hidden too, so the packaged browser
#     has to bring its own;
#   - the temp folder is new, so that browser is unpacked afresh from node_modules;
#   - TEST_REDIS_URL, TEST_DATABASE_URL and CHROMIUM_PATH are unset.
# Every test must then pass or be reported as not run for want of a server. Extra arguments go to
# jest (e.g. a test file). Usage: bash scripts/bare-machine-test.sh [jest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BARE_MACHINE_INSIDE:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "bare-machine-test: needs root (unshare -mn)" >&2; exit 1; }
  BARE_MACHINE_INSIDE=1 exec unshare --mount --net --fork bash "$0" "$@"
fi

# Nothing mounted here leaks out to the host.
mount --make-rprivate /
ip link set lo up

# Binary names to hide wherever they are found (PATH and the sbin folders), and fixed paths.
BINARIES=(chromium chromium-browser google-chrome redis-server redis-cli mariadbd mysqld mariadb mysql
  mariadb-install-db mysql_install_db mariadb-admin mysqladmin)
LIBRARIES=(libnss3.so libnssutil3.so libsmime3.so libnspr4.so libplc4.so libplds4.so libexpat.so.1
  libfontconfig.so.1 libfreetype.so.6)
LIBRARY_DIRS=(/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /lib64 /usr/lib64)
declare -A hidden=()

# A file that exists is covered by /dev/null (once: a symlink, e.g. mysqld -> mariadbd, through
# its target); one that does not exist is already absent.
hide_file() {
  [ -e "$1" ] || return 0
  local target
  target=$(realpath "$1")
  [ -z "${hidden[$target]:-}" ] || return 0
  mount --bind /dev/null "$target"
  hidden[$target]=file
}

hide_dir() {
  [ -d "$1" ] || return 0
  mount -t tmpfs -o size=1m,mode=755 tmpfs "$1"
  hidden[$1/]=dir
}

IFS=: read -r -a path_dirs <<<"$PATH:/usr/local/sbin:/usr/sbin:/sbin"
for name in "${BINARIES[@]}"; do
  for dir in "${path_dirs[@]}"; do hide_file "$dir/$name"; done
done
hide_file /usr/bin/chromium
for lib in "${LIBRARIES[@]}"; do
  for dir in "${LIBRARY_DIRS[@]}"; do hide_file "$dir/$lib"; done
done
for dir in /usr/lib/chromium /usr/share/fonts /etc/fonts; do hide_dir "$dir"; done

temp=$(mktemp -d)
trap 'rm -rf "$temp"' EXIT
export TMPDIR=$temp
unset TEST_REDIS_URL TEST_DATABASE_URL CHROMIUM_PATH REDIS_URL DATABASE_URL

echo "bare-machine-test: hidden: ${!hidden[*]}"
echo "bare-machine-test: network: $(ip -brief address | tr -s ' ' | tr '\n' ';')"
echo "bare-machine-test: TMPDIR=$TMPDIR; running npm test $*"
npm test -- "$@"
