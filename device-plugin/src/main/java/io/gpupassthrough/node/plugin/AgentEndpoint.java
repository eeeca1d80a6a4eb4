package io.gpupassthrough.node.plugin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code /healthz} and {@code /metrics} (Prometheus text format) of the node agent, on the JDK's
 * own HTTP server: one thread, no extra dependency, nothing loaded until a request comes.
 */
public final class AgentEndpoint implements AutoCloseable {
  /** Liveness as {@code /healthz} reports it. */
  public record Liveness(boolean ok, String detail) {}

  private final HttpServer server;

  private AgentEndpoint(HttpServer server) {
    this.server = server;
  }

  public static AgentEndpoint start(
      InetSocketAddress address, PrometheusMeterRegistry metrics, Supplier<Liveness> liveness) {
    HttpServer server;
    try {
      server = HttpServer.create(address, 8);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen on "
              + address
              + " for /healthz and /metrics ("
              + e.getMessage()
              + "); pick another --metrics-port or 0 to turn it off",
          e);
    }
    server.setExecutor(Executors.newSingleThreadExecutor(UnixSocketTransport.daemonThreads("gpupt-http")));
    server.createContext(
        "/healthz",
        exchange -> {
          Liveness l = liveness.get();
          respond(exchange, l.ok() ? 200 : 503, "text/plain; charset=utf-8", l.detail() + "\n");
        });
    server.createContext(
        "/metrics",
        exchange ->
            respond(
                exchange,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics.scrape()));
    server.start();
    return new AgentEndpoint(server);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
