#!/usr/bin/env bash
# deploy/images/check-image.sh IMAGE.tar [ARG...]
#
# Checks a built image (Jib's tar) without a container runtime, for what a pod would run into:
#  1. the image's JRE has every module its jar needs (jdeps of the jar named after -jar in the entrypoint, against
#     MODULES in $JAVA_HOME/release of the image);
#  2. the entrypoint starts, with the image's environment, as the image's user, on a read-only root file system:
#     with ARGs, the entrypoint with them (it must exit 0); without, the entrypoint's JVM flags with -version.
#     When the entrypoint names a CDS archive (-XX:SharedArchiveFile), the JVM runs with -Xshare:on, which fails
#     unless the archive maps (the same JRE, and the jar at the path, size and time of the dump).
# Needs root (chroot, a private mount namespace) and a JDK's jdeps.
set -euo pipefail
image=${1:?usage: check-image.sh IMAGE.tar [ARG...]}
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/gpupt-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/image" "$work/fs"
tar -xf "$image" -C "$work/image"
# Jib's tar: manifest.json lists the gzipped layers in order (no whiteouts: Jib only adds files).
for layer in $(grep -o '[0-9a-f]\{64\}\.tar\.gz' "$work/image/manifest.json"); do
  tar --warning=no-unknown-keyword -xzf "$work/image/$layer" -C "$work/fs"
done
config=$(cat "$work/image/config.json")
# The strings of a JSON list field of the image config, one a line (Jib writes it compact, values without quotes).
json_list() { sed -n "s/.*\"$1\":\[\"\([^]]*\)\"\].*/\1/p" <<< "$config" | sed 's/","/\n/g'; }
mapfile -t entrypoint < <(json_list Entrypoint)
mapfile -t env < <(json_list Env)
user=$(sed -n 's/.*"User":"\([^"]*\)".*/\1/p' <<< "$config")
user=${user:-0:0}
[ ${#entrypoint[@]} -gt 0 ] || { echo "check-image: $image has no entrypoint" >&2; exit 1; }

jar= cds=false
for ((i = 0; i < ${#entrypoint[@]}; i++)); do
  [ "${entrypoint[$i]}" = -jar ] && jar=${entrypoint[$((i + 1))]}
  case ${entrypoint[$i]} in -XX:SharedArchiveFile=*) cds=true ;; esac
done
[ -n "$jar" ] || { echo "check-image: the entrypoint of $image runs no -jar" >&2; exit 1; }

java_home=$(printf '%s\n' "${env[@]}" | sed -n 's/^JAVA_HOME=//p')
have=$(sed -n 's/^MODULES="\(.*\)"/\1/p' "$work/fs$java_home/release" | tr ' ' '\n' | sort)
jdeps=$(command -v jdeps || echo "${JAVA_HOME:?no jdeps on PATH and no JAVA_HOME}/bin/jdeps")
need=$("$jdeps" --ignore-missing-deps --multi-release 17 --print-module-deps "$work/fs$jar" | tr ',' '\n' | sort)
missing=$(comm -13 <(echo "$have") <(echo "$need"))
if [ -n "$missing" ]; then
  echo "check-image: $jar needs modules the image's JRE lacks: $missing (add them to MODULES in deploy/images/base/build.sh)" >&2
  exit 1
fi
echo "✓ $jar: the JRE has every module it needs ($(echo "$need" | paste -sd,))"

if [ $# -gt 0 ]; then
  cmd=("${entrypoint[@]}" "$@")
else
  cmd=()
  for a in "${entrypoint[@]}"; do [ "$a" = -jar ] && break; cmd+=("$a"); done
  cmd+=(-version)
fi
$cds && env+=(JAVA_TOOL_OPTIONS=-Xshare:on)
# The root is bind-mounted read-only inside a private mount namespace; /proc and /dev as a runtime gives them.
# The image has no shell and no env(1): the host's env and chroot start the command with the image's environment.
unshare --mount --propagation private env FS="$work/fs" sh -euc '
  mount --bind "$FS" "$FS"
  mkdir -p "$FS/proc" "$FS/dev" "$FS/tmp"
  mount -t proc proc "$FS/proc"
  mount --bind /dev "$FS/dev"
  mount -o remount,bind,ro "$FS"
  exec "$@"
' check "$(command -v env)" -i "${env[@]}" "$(command -v chroot)" --userspec="$user" "$work/fs" "${cmd[@]}" \
  > "$work/out" 2>&1 || {
  echo "check-image: '${cmd[*]}' failed in $image as $user on a read-only root:" >&2
  cat "$work/out" >&2
  exit 1
}
echo "✓ '${cmd[*]}' runs as $user on a read-only root$($cds && echo ', CDS archive mapped (-Xshare:on)'): $(grep -v '^Picked up' "$work/out" | head -1)"
