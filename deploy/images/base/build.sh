#!/usr/bin/env bash
# deploy/images/base/build.sh OUT.tar [--update-lock]
#
# The root file system both images start from, built from Debian bookworm packages without a container daemon
# and written to OUT.tar as a Docker archive (the `docker save` layout: manifest.json, config, one layer), which
# Jib takes as its base image (`tar://OUT.tar`, see the `images` profile in pom.xml):
#   /opt/java   a JRE jlinked from Debian's openjdk-17-jdk-headless with the modules both jars need
#               (MODULES below);
#   glibc, libstdc++, libgcc, zlib   what the JVM and netty's epoll library (grpc-netty-shaded) link against
#               (glibc, not musl: netty ships no musl build of it);
#   pci.ids     /usr/share/misc/pci.ids, the names in the agent's resource names (GPUPT_PCI_IDS);
#   /etc/passwd root and gpupt (65532, the operator's non-root user), /etc/nsswitch.conf, and
#               /var/lib/dpkg/status listing every package, so image scanners see the versions.
# Packages are only extracted (mmdebstrap --variant=extract: no maintainer scripts, no shell, no dpkg in the image).
# Left out: device nodes (the runtime mounts /dev), glibc's gconv modules (iconv; Java has its own charsets, 8 MiB).
#
# Reproducible: the exact package versions come from packages.lock beside this script, mtimes are clamped to its
# epoch (SOURCE_DATE_EPOCH), so the same lock gives the same bytes on any machine. When the Debian mirror no longer
# carries a locked version (a point release or security update replaced it), the build stops and says so; then
# `deploy/images/base/build.sh target/images/gpupt-base.tar --update-lock` moves the lock to the mirror's current
# versions (commit it: it changes every image digest).
# Mirror: mmdebstrap's default for bookworm (main, updates, security); GPUPT_DEBIAN_MIRROR overrides it (any
# mmdebstrap MIRROR argument, e.g. a deb822 sources file).
# Cache: OUT.tar is copied from $GPUPT_IMAGE_CACHE (default ~/.cache/gpupt-images) when this script and the lock are
# unchanged; the first build downloads ~150 MB of packages and takes 1-2 minutes.
# Needs root (mmdebstrap --mode=root, chroot); installs mmdebstrap when it is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT.tar [--update-lock]}
update_lock=false
[ "${2:-}" = --update-lock ] && update_lock=true
lock=$here/packages.lock
suite=bookworm
# jdeps --print-module-deps of device-plugin/target/gpupt-node.jar and operator/target/gpupt-operator.jar (the
# image check, deploy/images/check-image.sh, fails when a jar needs one that is missing), plus jdk.crypto.ec: the
# SunEC provider for ECDHE in TLS to the API server.
MODULES=java.base,java.compiler,java.desktop,java.naming,java.net.http,java.sql,jdk.crypto.ec,jdk.httpserver,jdk.jfr,jdk.management,jdk.unsupported
JDK_PACKAGES=(openjdk-17-jdk-headless openjdk-17-jre-headless)
RUNTIME_PACKAGES=(base-files libc6 libgcc-s1 libstdc++6 zlib1g pci.ids)
NONROOT_UID=65532

[ "$(id -u)" = 0 ] || { echo "build.sh: needs root (mmdebstrap --mode=root and chroot)" >&2; exit 1; }
if ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

cache=${GPUPT_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpupt-images}
key=$({ cat "$0"; cat "$lock" 2>/dev/null || true; } | sha256sum | cut -c1-16)
mkdir -p "$cache" "$(dirname "$out")"
if ! $update_lock && [ -f "$cache/base-$key.tar" ]; then
  cp "$cache/base-$key.tar" "$out"
  echo "base image: $out (cached, key $key)"
  exit 0
fi

# Locked "name=version" for the given kind (jdk|runtime), or bare names when updating the lock.
includes() {
  local kind=$1; shift
  if $update_lock; then
    (IFS=,; echo "$*")
  else
    [ -f "$lock" ] || { echo "build.sh: $lock is missing; run with --update-lock" >&2; exit 1; }
    awk -v k="$kind" '$1 == k { printf "%s%s", sep, $2; sep = "," }' "$lock"
  fi
}
epoch=$( $update_lock && date +%s || awk '$1 == "epoch" { print $2 }' "$lock")
export SOURCE_DATE_EPOCH=$epoch

work=$(mktemp -d "${TMPDIR:-/tmp}/gpupt-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
mirror=()
[ -n "${GPUPT_DEBIAN_MIRROR:-}" ] && mirror=("$GPUPT_DEBIAN_MIRROR")

# Lists "kind name=version" of the .debs mmdebstrap fetched into the chroot being built ($1) whose names match
# $PINNED, for the lock. Of the JDK chroot only the JDK itself is pinned: jlink's output is made of its jmods and
# its JVM, not of the libraries the chroot needs to run jlink.
cat > "$work/record.sh" <<'R'
for d in "$1"/var/cache/apt/archives/*.deb; do
  echo "$KIND $(dpkg-deb -f "$d" Package)=$(dpkg-deb -f "$d" Version)"
done | grep -E "^$KIND ($PINNED)=" | sort >> "$RECORD"
R
# A dpkg status file for the extracted packages (Status added: they are unpacked, as an install would leave them).
cat > "$work/status.sh" <<'S'
mkdir -p "$1/var/lib/dpkg"
for d in "$1"/var/cache/apt/archives/*.deb; do
  dpkg-deb -f "$d" Package Version Architecture Multi-Arch Source Maintainer Installed-Size Depends Pre-Depends \
    Description | sed '1a Status: install ok installed'
  echo
done > "$1/var/lib/dpkg/status"
S

fail_hint() {
  echo "build.sh: mmdebstrap failed (log above). If apt says a version of packages.lock was not found, the mirror has" >&2
  echo "moved on: run '$0 $out --update-lock' and commit deploy/images/base/packages.lock." >&2
  exit 1
}

# 1. The JRE: jlink inside a chroot of Debian's JDK (jlink must be the JDK of the jmods). /proc must exist in the
#    target for mmdebstrap to mount it: the dynamic loader resolves the JDK's $ORIGIN rpath through /proc/self/exe.
#    No default CDS archive (jlink --generate-cds-archive): JDK 17's -Xshare:dump is not deterministic (its own
#    startup threads race the dump, JDK-8253495, fixed in 19; seen with 17.0.21: dumps differ from byte 5 on, also
#    under setarch -R), so it would make this layer differ on every build. The agent has its own AppCDS archive
#    (deploy/images/node-agent/appcds.sh); the operator starts without one.
#    --strip-java-debug-attributes, not --strip-debug: that one also strips native symbols with objcopy (binutils,
#    not in the chroot), and Debian's native libraries are stripped already (the symbols are in -dbgsym packages).
: > "$work/lock.jdk"
mkdir -p "$work/jre"
KIND=jdk PINNED=openjdk-17-.* RECORD=$work/lock.jdk mmdebstrap --quiet --mode=root --variant=extract --format=null \
  --include="$(includes jdk "${JDK_PACKAGES[@]}")" \
  --setup-hook='mkdir -p "$1/proc" "$1/sys"' \
  --extract-hook="sh $work/record.sh \"\$1\"" \
  --extract-hook="chroot \"\$1\" /usr/lib/jvm/java-17-openjdk-amd64/bin/jlink --add-modules $MODULES \
      --strip-java-debug-attributes --no-man-pages --no-header-files --compress=2 --output /opt/java" \
  --extract-hook="sync-out /opt/java $work/jre" \
  "$suite" /dev/null "${mirror[@]}" || fail_hint

# 2. The runtime root file system with that JRE in /opt/java, as one tar.
: > "$work/lock.runtime"
KIND=runtime PINNED=.* RECORD=$work/lock.runtime mmdebstrap --quiet --mode=root --variant=extract --format=tar \
  --include="$(includes runtime "${RUNTIME_PACKAGES[@]}")" \
  --extract-hook="sh $work/record.sh \"\$1\"" \
  --extract-hook="sh $work/status.sh \"\$1\"" \
  --extract-hook='mkdir -p "$1/opt/java"' \
  --extract-hook="sync-in $work/jre /opt/java" \
  --extract-hook="printf 'root:x:0:0:root:/root:/usr/sbin/nologin\ngpupt:x:$NONROOT_UID:$NONROOT_UID:gpupt:/nonexistent:/usr/sbin/nologin\n' > \"\$1/etc/passwd\"" \
  --extract-hook="printf 'root:x:0:\ngpupt:x:$NONROOT_UID:\n' > \"\$1/etc/group\"" \
  --extract-hook='printf "passwd: files\ngroup: files\nhosts: files dns\n" > "$1/etc/nsswitch.conf"' \
  --extract-hook='rm -rf "$1/etc/resolv.conf" "$1/etc/hostname" "$1/usr/lib/x86_64-linux-gnu/gconv"' \
  --extract-hook='chmod 1777 "$1/tmp"' \
  --skip=output/dev \
  "$suite" "$work/rootfs.tar" "${mirror[@]}" || fail_hint

if $update_lock; then
  { echo "# Debian $suite packages of the image base, written by deploy/images/base/build.sh --update-lock; read by it."
    echo "# epoch: SOURCE_DATE_EPOCH of the build (file times are clamped to it)."
    echo "epoch $epoch"
    cat "$work/lock.jdk" "$work/lock.runtime"; } > "$lock"
  key=$(cat "$0" "$lock" | sha256sum | cut -c1-16)
  echo "packages.lock updated ($(grep -c '^runtime ' "$lock") runtime packages, $(grep '^jdk openjdk-17-jdk-headless=' "$lock" | cut -d' ' -f2))"
fi

# 3. Docker archive around the root file system: one uncompressed layer, a config with the environment both
#    images share. Fixed names and times, so the archive is as reproducible as the layer.
mkdir -p "$work/archive"
mv "$work/rootfs.tar" "$work/archive/rootfs.tar"
diff_id=$(sha256sum "$work/archive/rootfs.tar" | cut -d' ' -f1)
cat > "$work/archive/config.json" <<J
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/opt/java","LANG=C.UTF-8"]},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"deploy/images/base/build.sh (Debian $suite, packages.lock epoch $epoch)"}]}
J
echo '[{"Config":"config.json","RepoTags":["gpupt.local/base:'"$key"'"],"Layers":["rootfs.tar"]}]' > "$work/archive/manifest.json"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/archive" \
  -cf "$cache/base-$key.tar" manifest.json config.json rootfs.tar
cp "$cache/base-$key.tar" "$out"
echo "base image: $out (key $key, layer sha256:$diff_id, $(du -m "$work/archive/rootfs.tar" | cut -f1) MiB)"
