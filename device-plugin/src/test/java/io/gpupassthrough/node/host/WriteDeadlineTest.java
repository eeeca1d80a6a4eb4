package io.gpupassthrough.node.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The write deadline on its own: a write that returns, one that fails, one that blocks. */
class WriteDeadlineTest {
  private static final SysfsPaths PATHS = new SysfsPaths(Path.of("/"));
  private static final Path UNBIND = PATHS.pciDriverUnbind("vfio-pci");

  private final List<String> events = new CopyOnWriteArrayList<>();
  private final WriteDeadline deadline = new WriteDeadline(Duration.ofMillis(200), Clock.systemUTC(), events::add);

  @Test
  void aWriteThatReturnsLeavesNothingBehind() {
    deadline.run(PATHS, UNBIND, "0000:41:00.0", () -> {});
    assertThat(deadline.hung()).isEmpty();
  }

  @Test
  void theKernelsErrorComesBackAsItWas() {
    HostWriteException refused = new HostWriteException(UNBIND, "0000:41:00.0", "No such device");
    assertThatThrownBy(() -> deadline.run(PATHS, UNBIND, "0000:41:00.0", () -> {
      throw refused;
    })).isSameAs(refused);
    assertThat(deadline.hung()).isEmpty();
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang here is the bug
  void aBlockedWriteIsAbandonedReportedAndBlocksItsTargetUntilItReturns() {
    CountDownLatch kernel = new CountDownLatch(1);
    Runnable blocked = () -> {
      // Like a thread in write(2) that the kernel keeps: an interrupt does not end it.
      while (kernel.getCount() > 0) {
        try {
          kernel.await();
        } catch (InterruptedException ignored) {
          // keep waiting
        }
      }
    };

    assertThatThrownBy(() -> deadline.run(PATHS, UNBIND, "0000:41:00.0", blocked))
        .isInstanceOf(WriteHungException.class)
        .hasMessageContaining("/sys/bus/pci/drivers/vfio-pci/unbind")
        .hasMessageContaining("still blocked in the kernel after the write deadline");
    assertThat(deadline.hung()).singleElement().satisfies(h -> {
      assertThat(h.target()).isEqualTo("0000:41:00.0");
      assertThat(h.attribute()).isEqualTo("/sys/bus/pci/drivers/vfio-pci/unbind");
    });

    // No second write for the same device is started behind it; other devices are not held up.
    boolean[] ran = {false};
    assertThatThrownBy(() -> deadline.run(PATHS, PATHS.driverOverride(PciAddress.parse("0000:41:00.0")),
        "\n", () -> ran[0] = true))
        .isInstanceOf(WriteHungException.class)
        .hasMessageContaining("not written: an earlier write for 0000:41:00.0 is still blocked");
    assertThat(ran[0]).isFalse();
    deadline.run(PATHS, UNBIND, "0000:42:00.0", () -> {});

    kernel.countDown();
    await().atMost(Duration.ofSeconds(30)).until(() -> deadline.hung().isEmpty());
    assertThat(events).singleElement().asString()
        .contains("writing '0000:41:00.0' to /sys/bus/pci/drivers/vfio-pci/unbind returned after");
    deadline.run(PATHS, UNBIND, "0000:41:00.0", () -> {});
  }
}
