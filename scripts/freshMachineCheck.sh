#!/usr/bin/env bash
# Checks the README's two commands on a fresh Debian machine: a debootstrap'd bookworm chroot that
# holds only what a new development machine has (this host's Node and npm, python3, make, g++, git,
# the host's extra CA certificates), a clean clone of this repository's HEAD, then `npm ci`,
# `npm run demo` and `npm test` with CI=true, timed. Needs root and debootstrap
# (apt-get install -y debootstrap); the chroot lives under $FRESH_DIR (default /var/tmp/skipscope-fresh).
# The pristine tree is made once and copied for each run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
base=${FRESH_DIR:-/var/tmp/skipscope-fresh}
pristine=$base/pristine
run=$base/run

if [ ! -x "$pristine/usr/bin/node" ]; then
  rm -rf "$pristine"
  debootstrap --variant=minbase bookworm "$pristine" http://deb.debian.org/debian
  cp /etc/resolv.conf "$pristine/etc/"
  mkdir -p "$pristine/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/* "$pristine/usr/local/share/ca-certificates/" 2>/dev/null || true
  mount --bind /proc "$pristine/proc"
  chroot "$pristine" bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 make g++ git ca-certificates && update-ca-certificates' >/dev/null
  umount "$pristine/proc"
  node_bin=$(command -v node)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  cp "$node_bin" "$pristine/usr/bin/node"
  mkdir -p "$pristine/usr/lib/node_modules"
  cp -a "$npm_dir" "$pristine/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$pristine/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$pristine/usr/bin/npx"
  [ -d /usr/include/node ] && cp -a /usr/include/node "$pristine/usr/include/"
  [ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$pristine/root/"
fi

umount -R "$run/proc" "$run/sys" "$run/dev" 2>/dev/null || true
rm -rf "$run" && cp -a "$pristine" "$run"
for d in proc sys dev; do mount --rbind "/$d" "$run/$d"; done
trap 'umount -R "$run/proc" "$run/sys" "$run/dev" 2>/dev/null || true' EXIT
git clone -q "$repo" "$run/root/skipscope"
cat >"$run/root/go.sh" <<'IN'
set -u
export CI=true HOME=/root NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
cd /root/skipscope
echo "commit $(git rev-parse --short HEAD)"
t=$(date +%s); npm ci --no-audit --no-fund >/root/npmci.log 2>&1; echo "npm ci: rc $? in $(($(date +%s) - t)) s"
t=$(date +%s); npm run demo >/root/demo.log 2>&1; echo "npm run demo: rc $? in $(($(date +%s) - t)) s"
t=$(date +%s); npm test >/root/test.log 2>&1; echo "npm test: rc $? in $(($(date +%s) - t)) s"
grep -E ' passing| failing| pending|E2E summary' /root/test.log
IN
chroot "$run" bash /root/go.sh
echo "logs: $run/root/{npmci,demo,test}.log"
