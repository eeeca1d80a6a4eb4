package io.gpupassthrough.node.holders;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DeviceNodesTest {
  @Test
  void drmChildrenWithANodeAreCardsAndRenderNodesNotConnectors() {
    assertThat(DeviceNodes.drm("card0")).contains("/dev/dri/card0");
    assertThat(DeviceNodes.drm("renderD128")).contains("/dev/dri/renderD128");
    assertThat(DeviceNodes.drm("card0-HDMI-A-1")).isEmpty();
    assertThat(DeviceNodes.drm("version")).isEmpty();
  }

  @Test
  void soundCardNodesAreControlPcmHwdepAndMidi() {
    assertThat(DeviceNodes.isSoundCard("card1")).isTrue();
    assertThat(DeviceNodes.isSoundCard("controlC1")).isFalse();
    assertThat(DeviceNodes.sound("controlC1")).contains("/dev/snd/controlC1");
    assertThat(DeviceNodes.sound("pcmC1D3p")).contains("/dev/snd/pcmC1D3p");
    assertThat(DeviceNodes.sound("hwC1D0")).contains("/dev/snd/hwC1D0");
    assertThat(DeviceNodes.sound("id")).isEmpty();
    assertThat(DeviceNodes.sound("power")).isEmpty();
  }

  @Test
  void vfioNodes() {
    assertThat(DeviceNodes.vfioCdev("vfio0")).contains("/dev/vfio/devices/vfio0");
    assertThat(DeviceNodes.vfioCdev("uevent")).isEmpty();
    assertThat(DeviceNodes.vfioGroup(12)).isEqualTo("/dev/vfio/12");
    assertThat(DeviceNodes.nvidia(0)).isEqualTo("/dev/nvidia0");
  }
}
