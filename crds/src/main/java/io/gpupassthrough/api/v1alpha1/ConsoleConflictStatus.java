package io.gpupassthrough.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.generator.annotation.Pattern;

/** One console or framebuffer found overlapping the device, and what the agent did about it. */
public class ConsoleConflictStatus {
  /** The kind of conflict, as in the CLI's {@code scan --output json}. */
  public enum Kind {
    @JsonProperty("framebuffer")
    FRAMEBUFFER,
    @JsonProperty("vtconsole")
    VTCONSOLE,
    @JsonProperty("vgacon")
    VGACON
  }

  /** What happened to the conflict. */
  public enum Action {
    /** Unbound by the agent (fbcon from a VT, a framebuffer driver, vgacon). */
    @JsonProperty("Detached")
    DETACHED,
    /** Already gone (e.g. evicted by the kernel on bind); nothing to do. */
    @JsonProperty("AlreadyReleased")
    ALREADY_RELEASED,
    /** Left in place because {@code consoleConflicts} is {@code Ignore}. */
    @JsonProperty("Ignored")
    IGNORED,
    /** Left in place because policy is {@code Fail}; the device is not advertised. */
    @JsonProperty("Refused")
    REFUSED,
    /** Could not be released (e.g. a firmware BOOTFB range); the device is not advertised. */
    @JsonProperty("Failed")
    FAILED
  }

  private Kind kind;
  private String name;
  private String driver;

  @Pattern("^[0-9a-f]+$")
  private String start;

  @Pattern("^[0-9a-f]+$")
  private String end;

  private Action action;

  public ConsoleConflictStatus() {}

  public Kind getKind() {
    return kind;
  }

  public void setKind(Kind kind) {
    this.kind = kind;
  }

  /** e.g. {@code efi-framebuffer.0}, {@code vtcon1}. */
  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  /** e.g. {@code efifb}, {@code fbcon}; null when none. */
  public String getDriver() {
    return driver;
  }

  public void setDriver(String driver) {
    this.driver = driver;
  }

  /** Start of the overlapping memory range, hex without 0x. */
  public String getStart() {
    return start;
  }

  public void setStart(String start) {
    this.start = start;
  }

  /** End of the overlapping memory range (inclusive), hex without 0x. */
  public String getEnd() {
    return end;
  }

  public void setEnd(String end) {
    this.end = end;
  }

  public Action getAction() {
    return action;
  }

  public void setAction(Action action) {
    this.action = action;
  }
}
