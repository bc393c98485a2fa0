#!/usr/bin/env bash
# The compatibility tests drive the real etcdctl 3.4 and compare with a real etcd; the benchmark
# runs a real etcd too. Both come from Debian's packages. Installs them when missing (needs root).
set -euo pipefail
if [ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "etcd and etcdctl are missing: run 'sudo apt-get install -y etcd-server etcd-client' once" >&2
  exit 1
fi
echo "installing Debian's etcd-server and etcd-client for the compatibility tests..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
