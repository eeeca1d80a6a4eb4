package io.gpupassthrough.node.aperture;

import io.gpupassthrough.node.host.PciAddress;

/**
 * One sysfs action of a plan, with the reason it is needed. Order within a plan is fixed by
 * the engine: fbcon off the VTs, framebuffer drivers, vgacon, then the PCI functions.
 */
public sealed interface Step {
  String why();

  /** A short imperative description, e.g. {@code unbind efi-framebuffer.0 from efi-framebuffer}. */
  String describe();

  /** {@code echo 0 > /sys/class/vtconsole/<vtcon>/bind}. */
  record UnbindVtConsole(String vtcon, String console, String why) implements Step {
    @Override
    public String describe() {
      return "unbind " + console + " from " + vtcon;
    }
  }

  /** {@code echo <device> > /sys/bus/platform/drivers/<driver>/unbind}. */
  record UnbindPlatformDriver(String device, String driver, String why) implements Step {
    @Override
    public String describe() {
      return "unbind " + device + " from " + driver;
    }
  }

  /** {@code echo <address> > /sys/bus/pci/drivers/<driver>/unbind}. */
  record UnbindPciDriver(PciAddress address, String driver, String why) implements Step {
    @Override
    public String describe() {
      return "unbind " + address + " from " + driver;
    }
  }

  /** {@code echo <driver> > /sys/bus/pci/devices/<address>/driver_override}. */
  record SetDriverOverride(PciAddress address, String driver, String why) implements Step {
    @Override
    public String describe() {
      return "set driver_override of " + address + " to " + driver;
    }
  }

  /** {@code echo <address> > /sys/bus/pci/drivers_probe}. */
  record ProbeDriver(PciAddress address, String why) implements Step {
    @Override
    public String describe() {
      return "probe " + address;
    }
  }
}
