package io.gpupassthrough.node.holders;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Pure: which {@code /dev} node a sysfs child of a PCI function stands for. Each node a process
 * can hold open is named after a class device in the function's sysfs directory: DRM
 * ({@code drm/card0} → {@code /dev/dri/card0}, {@code drm/renderD128}), ALSA
 * ({@code sound/card1/controlC1} → {@code /dev/snd/controlC1}, PCM, hwdep), VFIO's iommufd cdev
 * ({@code vfio-dev/vfio0} → {@code /dev/vfio/devices/vfio0}); plus the group node and NVIDIA's
 * numbered node, which are not children.
 */
public final class DeviceNodes {
  private static final Pattern DRM = Pattern.compile("^(card|renderD)\\d+$");
  private static final Pattern SOUND = Pattern.compile("^(controlC\\d+|pcmC\\d+D\\d+[pc]|hwC\\d+D\\d+|midiC\\d+D\\d+)$");
  private static final Pattern SOUND_CARD = Pattern.compile("^card\\d+$");
  private static final Pattern VFIO_CDEV = Pattern.compile("^vfio\\d+$");

  private DeviceNodes() {}

  /** {@code /dev/dri/cardN} or {@code /dev/dri/renderDN}; connectors ({@code card0-HDMI-A-1}) have no node. */
  public static Optional<String> drm(String child) {
    return DRM.matcher(child).matches() ? Optional.of("/dev/dri/" + child) : Optional.empty();
  }

  /** True for {@code sound/cardN}, whose children are the card's nodes. */
  public static boolean isSoundCard(String child) {
    return SOUND_CARD.matcher(child).matches();
  }

  /** {@code /dev/snd/<name>} for a sound card's control, PCM, hwdep or MIDI device. */
  public static Optional<String> sound(String cardChild) {
    return SOUND.matcher(cardChild).matches() ? Optional.of("/dev/snd/" + cardChild) : Optional.empty();
  }

  /** {@code /dev/vfio/devices/vfioN}, the function's own iommufd cdev (Linux 6.2+). */
  public static Optional<String> vfioCdev(String child) {
    return VFIO_CDEV.matcher(child).matches() ? Optional.of("/dev/vfio/devices/" + child) : Optional.empty();
  }

  /** {@code /dev/vfio/<group>}: held by whoever uses any function of the group through VFIO. */
  public static String vfioGroup(int group) {
    return "/dev/vfio/" + group;
  }

  /** {@code /dev/nvidia<minor>}; {@code /dev/nvidiactl} and {@code -uvm} are shared by every GPU. */
  public static String nvidia(int minor) {
    return "/dev/nvidia" + minor;
  }
}
