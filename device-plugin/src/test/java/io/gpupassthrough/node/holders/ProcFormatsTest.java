package io.gpupassthrough.node.holders;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProcFormatsTest {
  private static final String ID = "5f3c9a7e1b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";

  static Stream<Arguments> fdLinks() {
    return Stream.of(
        Arguments.of("device node", "/dev/vfio/12", Optional.of("/dev/vfio/12")),
        // devtmpfs node removed while open: the kernel appends " (deleted)"; still held.
        Arguments.of("unlinked but open", "/dev/dri/renderD128 (deleted)", Optional.of("/dev/dri/renderD128")),
        Arguments.of("VFIO device fd", "anon_inode:[vfio-device]", Optional.empty()),
        Arguments.of("socket", "socket:[12035]", Optional.empty()),
        Arguments.of("pipe", "pipe:[44242]", Optional.empty()),
        Arguments.of("empty", "", Optional.empty()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fdLinks")
  void fdLinkNamesAFileOnlyWhenItIsAPath(String name, String link, Optional<String> file) {
    assertThat(ProcFormats.fdPath(link)).isEqualTo(file);
  }

  static Stream<Arguments> cgroups() {
    return Stream.of(
        Arguments.of("cgroup v2, systemd driver, containerd",
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8c1f5d2e_3b4a_4c6d_9e8f_0a1b2c3d4e5f.slice/cri-containerd-" + ID + ".scope\n",
            Optional.of(ID), Optional.of("8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f")),
        Arguments.of("cgroup v2, cgroupfs driver",
            "0::/kubepods/burstable/pod8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f/" + ID + "\n",
            Optional.of(ID), Optional.of("8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f")),
        Arguments.of("cgroup v1, many hierarchies",
            "12:pids:/kubepods/besteffort/pod8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f/" + ID + "\n"
                + "11:cpu,cpuacct:/kubepods/besteffort/pod8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f/" + ID + "\n"
                + "1:name=systemd:/kubepods/besteffort/pod8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f/" + ID + "\n",
            Optional.of(ID), Optional.of("8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f")),
        // Seen with ../shared/k8s/node.sh (containerd, cgroupfs driver, cgroupsPerQOS=false, v1).
        Arguments.of("containerd without QoS cgroups, cgroup v1",
            "9:name=systemd:/k8s.io/" + ID + "\n8:pids:/k8s.io/" + ID + "\n", Optional.of(ID), Optional.empty()),
        Arguments.of("CRI-O container", "0::/kubepods.slice/crio-" + ID + ".scope\n", Optional.of(ID), Optional.empty()),
        Arguments.of("CRI-O's conmon is not the container",
            "0::/kubepods.slice/crio-conmon-" + ID + ".scope\n", Optional.empty(), Optional.empty()),
        Arguments.of("Docker", "0::/system.slice/docker-" + ID + ".scope\n", Optional.of(ID), Optional.empty()),
        Arguments.of("host service", "0::/system.slice/gdm.service\n", Optional.empty(), Optional.empty()),
        Arguments.of("init", "0::/init.scope\n", Optional.empty(), Optional.empty()),
        Arguments.of("kernel thread (empty file)", "", Optional.empty(), Optional.empty()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cgroups")
  void containerAndPodComeFromTheCgroupPath(String name, String cgroup, Optional<String> container,
      Optional<String> pod) {
    assertThat(ProcFormats.containerId(cgroup)).isEqualTo(container);
    assertThat(ProcFormats.podUid(cgroup)).isEqualTo(pod);
  }

  @Test
  void commandLineJoinsArgumentsAndIsCut() {
    assertThat(ProcFormats.commandLine("/usr/libexec/qemu-kvm\0-name\0guest=vm1\0")).isEqualTo(
        "/usr/libexec/qemu-kvm -name guest=vm1");
    assertThat(ProcFormats.commandLine("")).isEmpty();
    assertThat(ProcFormats.commandLine("x".repeat(500))).hasSize(ProcFormats.MAX_COMMAND).endsWith("…");
  }

  @Test
  void nvidiaMinorIsReadFromTheDriversInformationFile() {
    String info = "Model: \t\t NVIDIA A10\nBus Location: \t 0000:41:00.0\nDevice Minor: \t 3\n";
    assertThat(ProcFormats.nvidiaMinor(info)).contains(3);
    assertThat(ProcFormats.nvidiaMinor("Device Minor: \t none\n")).isEmpty();
    assertThat(ProcFormats.nvidiaMinor("Model: A10\n")).isEmpty();
  }
}
