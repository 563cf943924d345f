#!/usr/bin/env bash
# Builds Apache libprocess's own `benchmarks` binary (the anchors of docs/benchmarks.md)
# from an Apache Mesos git repository, in WORK (default: /tmp/apache-libprocess-bench).
# Usage: build.sh MESOS_GIT_DIR [WORK]   (MESOS_GIT_DIR: a clone's .git, or a bare repo)
# Needs Debian's packages below (installed with apt-get when missing).
set -euo pipefail
git_dir=${1:?usage: build.sh MESOS_GIT_DIR [WORK]}
work=${2:-/tmp/apache-libprocess-bench}
here=$(cd "$(dirname "$0")" && pwd)
packages=(libgoogle-glog-dev libgflags-dev libprotobuf-dev protobuf-compiler libev-dev
  libhttp-parser-dev rapidjson-dev libconcurrentqueue-dev libgtest-dev libgmock-dev
  zlib1g-dev libcurl4-openssl-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
mkdir -p "$work/src" "$work/deps" "$work/build"
# libprocess and stout as the repository has them; boost, picojson, elfio and rapidjson
# (header-only) from its 3rdparty tarballs, with Mesos's own patches.
for path in 3rdparty/libprocess 3rdparty/stout 3rdparty/boost-1.81.0.tar.gz \
  3rdparty/picojson-1.3.0.tar.gz 3rdparty/picojson-1.3.0.patch 3rdparty/elfio-3.2.tar.gz \
  3rdparty/rapidjson-1.1.0.tar.gz 3rdparty/rapidjson-1.1.0.patch; do
  git --git-dir="$git_dir" archive HEAD "$path" | tar -x -C "$work/src"
done
cd "$work/deps"
for t in boost-1.81.0 picojson-1.3.0 elfio-3.2 rapidjson-1.1.0; do
  [ -d "$t" ] || tar xzf "../src/3rdparty/$t.tar.gz"
done
[ -f picojson-1.3.0/.patched ] || (cd picojson-1.3.0 && patch -p1 < ../../src/3rdparty/picojson-1.3.0.patch && touch .patched)
[ -f rapidjson-1.1.0/.patched ] || (cd rapidjson-1.1.0 && patch -p1 < ../../src/3rdparty/rapidjson-1.1.0.patch && touch .patched)
cp "$here/Makefile" "$work/build/Makefile"
cd "$work/build"
nice -n 10 make -j2 TOP="$work"
echo "built $work/build/benchmarks"
