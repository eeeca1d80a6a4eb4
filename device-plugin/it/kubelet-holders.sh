#!/usr/bin/env bash
# kubelet-holders.sh — who holds a GPU, against a real kubelet (v1.28.7, ../shared/k8s/node.sh),
# containerd and kube-apiserver: the in-cluster node agent (as its ServiceAccount, RBAC from
# deploy/base/agent) adopts a GPU already on vfio-pci (a fixture host; the real /proc and the
# kubelet's pod-resources directory bound into it, as the DaemonSet mounts them), a hostNetwork pod
# gets it allocated, a process in that pod's container opens the GPU's /dev/vfio node. Then `scan`
# and the GpuPassthroughNode status must name both holders: the pod from the kubelet's PodResources
# API and the process (pid, container id from its /proc/<pid>/cgroup); a restore request must wait
# for them (Waiting, naming the pod); once the pod is gone nobody holds it.
#
#   device-plugin/it/kubelet-holders.sh        # takes the node lock itself (the kubelet is a singleton)
#
# Needs root (kubelet, containerd, mknod) and the jar (./mvnw -B -q -pl device-plugin -am package
# -DskipTests). Uses the default K8S_RUN (/tmp/gpupt-k8s) and ports, as COMMON.md asks for node.sh runs;
# stops everything it started. Prints one ✓/✗ line per fact; exit 1 if any ✗.
set -euo pipefail
if [ -z "${GPUPT_NODE_LOCKED:-}" ]; then
  exec env GPUPT_NODE_LOCKED=1 flock -w 3600 /tmp/gpupt-node.lock "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd)
k8s=${K8S_DIR:-$repo/../shared/k8s}; [ -d "$k8s" ] || k8s=/work/shared/k8s
jar=$repo/device-plugin/target/gpupt-node.jar
[ -f "$jar" ] || { echo "no $jar: ./mvnw -B -q -pl device-plugin -am package -DskipTests" >&2; exit 2; }
export K8S_RUN=/tmp/gpupt-k8s
node=gpupt-holders
resource=nvidia.com/GA102GL_A10
kc="kubectl --kubeconfig $K8S_RUN/admin.kubeconfig"
work=$(mktemp -d /tmp/gpupt-holders-it.XXXXXX)
failed=0; serve_pid=; holder_pid=; made_vfio=; shim_pid=
fact() { # fact OK-COMMAND DESCRIPTION [SEEN]
  if eval "$1"; then echo "  ✓ $2${3:+  [seen: $3]}"; else echo "  ✗ $2${3:+  [seen: $3]}"; failed=1; fi
}
cleanup() {
  set +e
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
  $kc delete pod gpupt-holder --wait=true --timeout=60s >/dev/null 2>&1
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  umount "$work/host/proc" "$work/host/var/lib/kubelet/pod-resources" 2>/dev/null
  "$k8s/down.sh"
  # Our pod's containerd-shim (it outlives the containerd down.sh stopped), by its pid.
  [ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null
  if [ -n "$made_vfio" ]; then rm -rf /dev/vfio; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== control plane and node (up.sh, node.sh $node)"
"$repo/e2e/cluster/clear-stale-run.sh"  # a killed run's pids file would make up.sh skip the start
"$k8s/up.sh" | tail -1
"$k8s/node.sh" "$node" | tail -1

echo "== the in-cluster agent adopts a GPU on vfio-pci (fixture vfio-held; the real /proc and the kubelet's"
echo "   pod-resources directory bound into it, as the DaemonSet mounts them under /host)"
cp -a "$repo/device-plugin/src/test/hosts/vfio-held" "$work/host"
mount --bind /proc "$work/host/proc"
mkdir -p "$work/host/var/lib/kubelet/pod-resources"
mount --bind /var/lib/kubelet/pod-resources "$work/host/var/lib/kubelet/pod-resources"
# The kubelet passes /dev/vfio/vfio and /dev/vfio/1 (Allocate's device specs) into the container:
# they must exist on this machine, which has no VFIO; null-device stand-ins do.
if [ ! -e /dev/vfio ]; then
  made_vfio=1; mkdir /dev/vfio; mknod /dev/vfio/vfio c 1 3; mknod /dev/vfio/1 c 1 3
fi
$kc apply -f "$repo/deploy/base/crds/" -f "$repo/deploy/base/namespace.yaml" -f "$repo/deploy/base/agent/rbac.yaml" >/dev/null
$kc wait crd/gpupassthroughnodes.gpupassthrough.io --for=condition=Established --timeout=60s >/dev/null
$kc apply -f - >/dev/null <<Y
apiVersion: gpupassthrough.io/v1alpha1
kind: GpuPassthroughNode
metadata: {name: $node}
spec:
  claims:
  - {owner: a10, selector: {vendorIds: ["10de"]}, consoleConflicts: Detach}
Y
KUBECONFIG=$K8S_RUN/agent.kubeconfig java -jar "$jar" serve --host-root "$work/host" \
  --device-plugin-dir /var/lib/kubelet/device-plugins --node-name "$node" --metrics-port 0 \
  --holders-interval 2 > "$work/agent.log" 2>&1 &
serve_pid=$!
for i in $(seq 90); do
  cap=$($kc get node "$node" -o "jsonpath={.status.allocatable.nvidia\.com/GA102GL_A10}" 2>/dev/null || true)
  [ "$cap" = 1 ] && break; sleep 1
done
fact '[ "$cap" = 1 ]' "the agent adopted the GPU and the kubelet lists 1 $resource on $node" "$cap"

echo "== a hostNetwork pod gets the GPU"
$kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: gpupt-holder, namespace: default}
spec:
  nodeName: $node
  hostNetwork: true
  tolerations: [{operator: Exists}]
  containers:
  - name: holder
    image: gpupt.local/pause:1
    imagePullPolicy: Never
    resources: {limits: {$resource: 1}}
Y
$kc wait pod/gpupt-holder --for=condition=Ready --timeout=120s >/dev/null
cid=$($kc get pod gpupt-holder -o jsonpath='{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
fact '[ ${#cid} = 64 ]' "the pod's container runs" "$cid"

echo "== a process in the pod's container opens /dev/vfio/1"
pause=$(ctr -n k8s.io tasks ls | awk -v id="$cid" '$1 == id { print $2 }')
shim_pid=$(awk '{ print $4 }' "/proc/$pause/stat")
cp "/proc/$pause/cgroup" "$work/container.cgroup"
echo "  · /proc/<container process>/cgroup (containerd, cgroupfs driver, cgroupsPerQOS=false):"
sed 's/^/      /' "$work/container.cgroup" | head -3
python3 -c 'import os, time; fd = os.open("/dev/vfio/1", os.O_RDWR); time.sleep(600)' &
holder_pid=$!
# Join the container's cgroups, as a process started inside it (kubectl exec) would be.
while IFS=: read -r _ controllers path; do
  dir=/sys/fs/cgroup/${controllers#name=}$path
  [ -n "$controllers" ] || dir=/sys/fs/cgroup/unified$path
  [ -w "$dir/cgroup.procs" ] && echo "$holder_pid" > "$dir/cgroup.procs" 2>/dev/null || true
done < "$work/container.cgroup"
sleep 1

scan() { java -jar "$jar" scan --host-root "$work/host" --pod-resources-socket /var/lib/kubelet/pod-resources/kubelet.sock "$@"; }
scan -o json > "$work/held.json"
scan > "$work/held.txt"
sed 's/^/      /' "$work/held.txt"
json() { python3 -c "import json,sys; d=json.load(open('$1'))['devices'][0]; print($2)"; }
alloc=$(json "$work/held.json" '";".join(a["namespace"]+"/"+a["pod"]+"/"+a["container"]+" "+a["resourceName"] for a in d["allocatedTo"])')
fact '[ "$alloc" = "default/gpupt-holder/holder $resource" ]' "scan: allocatedTo from the kubelet's PodResources List" "$alloc"
holders=$(json "$work/held.json" '";".join(str(h["pid"])+" "+str(h["containerId"])+" "+h["file"] for h in d["hostHolders"])')
fact '[ "$holders" = "$holder_pid $cid /dev/vfio/1" ]' "scan: hostHolders names the process, its container and the file" "$holders"
complete=$(python3 -c "import json; print(json.load(open('$work/held.json'))['holderCheck']['complete'])")
fact '[ "$complete" = True ]' "scan: the holder check saw the kubelet and every process" "$complete"

status() { $kc get gptnode "$node" -o json | python3 -c "import json,sys; s=json.load(sys.stdin).get('status') or {}; d=(s.get('devices') or [{}])[0]; print($1)"; }
for i in $(seq 60); do
  [ "$(status 'bool(d.get("allocatedTo")) and bool(d.get("hostHolders"))')" = True ] && break; sleep 1
done
$kc get gptnode -o wide > "$work/gptnode.txt"
sed 's/^/      /' "$work/gptnode.txt"
st_alloc=$(status '";".join(a["namespace"]+"/"+a["pod"]+"/"+a["container"] for a in d.get("allocatedTo") or [])')
fact '[ "$st_alloc" = "default/gpupt-holder/holder" ]' "status: allocatedTo (the agent asked the kubelet)" "$st_alloc"
st_holders=$(status '";".join(str(h["pid"])+" "+str(h.get("containerId")) for h in d.get("hostHolders") or [])')
fact '[ "$st_holders" = "$holder_pid $cid" ]' "status: hostHolders (pid, container id)" "$st_holders"
fact 'grep -q "0000:01:00.0: pod default/gpupt-holder" "$work/gptnode.txt"' "kubectl get gptnode -o wide: Held-By names the pod" \
  "$(tail -1 "$work/gptnode.txt" | awk '{$1=$1};1')"

echo "== a restore request (the GpuPassthrough was deleted) waits for the pod"
$kc patch gptnode "$node" --type merge -p '{"spec": {"claims": [], "restore": [{"owner": "a10", "addresses": ["0000:01:00.0"]}]}}' >/dev/null
for i in $(seq 60); do
  st=$(status '(s.get("restores") or [{}])[0].get("state")')
  [ "$st" = Waiting ] && break; sleep 1
done
msg=$(status '(s.get("restores") or [{}])[0].get("message")')
fact '[ "$st" = Waiting ]' "status: the restore is Waiting" "$st"
fact 'echo "$msg" | grep -q "waiting for pod default/gpupt-holder to release 0000:01:00.0"' "…naming the pod" "$msg"
unbound=$(cat "$work/host/sys/bus/pci/drivers/vfio-pci/unbind")
fact '[ -z "$unbound" ]' "nothing was written to vfio-pci/unbind" "'$unbound'"

echo "== the pod goes"
kill "$holder_pid"; wait "$holder_pid" 2>/dev/null || true; holder_pid=
$kc delete pod gpupt-holder --wait=true --timeout=60s >/dev/null
scan -o json > "$work/free.json"
left=$(json "$work/free.json" 'len(d["allocatedTo"]) + len(d["hostHolders"])')
fact '[ "$left" = 0 ]' "scan: nobody holds it any more" "$left"
for i in $(seq 60); do
  st=$(status '(s.get("restores") or [{}])[0].get("state")')
  [ "$st" != Waiting ] && break; sleep 1
done
# The fixture is a plain directory: the unbind the agent now writes changes nothing, so the restore
# cannot verify and reports Failed. That it tried is what this shows.
fact '[ "$st" != Waiting ] && [ -n "$(cat "$work/host/sys/bus/pci/drivers/vfio-pci/unbind")" ]' \
  "once nobody holds it the agent stops waiting and writes the unbind" "$st, unbind <- $(cat "$work/host/sys/bus/pci/drivers/vfio-pci/unbind")"
echo "  · agent log:"; grep -E "held|holder|waiting|restore" "$work/agent.log" | sed 's/^/      /' | tail -8
exit $failed
