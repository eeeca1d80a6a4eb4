"""What the e2e applies besides deploy/ (a stand-in KubeVirt, a VM-like pod), and how it turns a
container of the shipped Deployment / the operator's DaemonSet into a process command line."""
from __future__ import annotations

import re

KUBEVIRT_NAMESPACE = "kubevirt"  # GPUPT_KUBEVIRT_NAMESPACE in deploy/base/operator/deployment.yaml
# An admin's own entry, there before us: it must survive our merge and our removal untouched.
ADMIN_ENTRY = {"pciVendorSelector": "10DE:1EB8", "resourceName": "nvidia.com/TU104GL_Tesla_T4"}

# KubeVirt itself cannot be installed here (no images, no network); its CRD, loosely typed, is what
# the operator reads and patches (spec.configuration.permittedHostDevices.pciHostDevices).
KUBEVIRT_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: kubevirts.kubevirt.io
spec:
  group: kubevirt.io
  names: {kind: KubeVirt, listKind: KubeVirtList, plural: kubevirts, singular: kubevirt, shortNames: [kv]}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""

KUBEVIRT_CR = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {KUBEVIRT_NAMESPACE}
---
apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata:
  name: kubevirt
  namespace: {KUBEVIRT_NAMESPACE}
spec:
  configuration:
    permittedHostDevices:
      pciHostDevices:
        - pciVendorSelector: "{ADMIN_ENTRY['pciVendorSelector']}"
          resourceName: {ADMIN_ENTRY['resourceName']}
"""

# kubelet and device plugins refuse the kubernetes.io domain; admission should too (issue 9, item 5).
INVALID_RESOURCE_NAME = """\
apiVersion: gpupassthrough.io/v1alpha1
kind: GpuPassthrough
metadata:
  name: e2e-invalid-resource-name
spec:
  devices:
    vendorIds: ["10de"]
  resourceName: kubernetes.io/gpu
"""


def vm_pod(name: str, resource: str, count: int, image: str) -> str:
    """What virt-launcher asks for, minus KubeVirt: hostNetwork (node.sh sets up no CNI), the
    sandbox image node.sh imports (nothing is pulled), and the not-ready taint tolerated (the node
    stays NotReady without CNI)."""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: default
spec:
  hostNetwork: true
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 5
  tolerations:
    - {{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoSchedule}}
  containers:
    - name: vm
      image: {image}
      imagePullPolicy: Never
      resources:
        limits:
          {resource}: "{count}"
"""


class Unresolvable(ValueError):
    pass


def container_env(container: dict, fields: dict[str, str]) -> dict[str, str]:
    """A container's env as the kubelet resolves it: values, and the fieldRefs in `fields`."""
    env: dict[str, str] = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
        elif "fieldRef" in e.get("valueFrom", {}):
            path = e["valueFrom"]["fieldRef"]["fieldPath"]
            if path not in fields:
                raise Unresolvable(f"env {e['name']}: fieldRef {path} has no stand-in in the cluster e2e")
            env[e["name"]] = fields[path]
        else:
            raise Unresolvable(f"env {e['name']}: {e.get('valueFrom')} has no stand-in in the cluster e2e")
    return env


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in args and env values ($$ escapes, unknown names stay)."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def replace_flag(args: list[str], flag: str, value: str) -> list[str]:
    """`--flag X` or `--flag=X` set to `value`; the flag must be there (the e2e follows the manifest)."""
    out, found, skip = [], False, False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == flag:
            out += [flag, value]
            found, skip = True, True
        elif a.startswith(flag + "="):
            out.append(f"{flag}={value}")
            found = True
        else:
            out.append(a)
    if not found:
        raise Unresolvable(f"{flag} is not in the container's args {args}")
    return out


def flag_value(args: list[str], flag: str) -> str | None:
    """The value of `--flag X` or `--flag=X`, None when absent."""
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None
