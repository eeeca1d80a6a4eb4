package io.gpupassthrough.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;

/** The agent's answer to a {@link RestoreRequest}. */
public class RestoreResult {
  /** Where a restore stands. */
  public enum State {
    /** Every requested device is back on its original driver (or had none to go back to). */
    @JsonProperty("Done")
    DONE,
    /** Some device could not be given back; {@code message} says which and why. */
    @JsonProperty("Failed")
    FAILED,
    /**
     * Some device is still held (a pod or a host process has it, or a write is blocked in the
     * kernel); it stays on vfio-pci and the agent tries again. {@code message} names the holder.
     */
    @JsonProperty("Waiting")
    WAITING
  }

  private String owner;
  private State state;
  private List<String> restored = new ArrayList<>();
  private String message;

  public RestoreResult() {}

  /** The owner named in the request. */
  public String getOwner() {
    return owner;
  }

  public void setOwner(String owner) {
    this.owner = owner;
  }

  public State getState() {
    return state;
  }

  public void setState(State state) {
    this.state = state;
  }

  /** Addresses actually given back. */
  public List<String> getRestored() {
    return restored;
  }

  public void setRestored(List<String> restored) {
    this.restored = restored;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }
}
