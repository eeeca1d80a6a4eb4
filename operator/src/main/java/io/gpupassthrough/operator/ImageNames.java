package io.gpupassthrough.operator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The image references this build produces, from one place: {@code gpupt.image.registry} and the project version
 * in pom.xml, filtered into {@code images.properties}. deploy/base names the same images (ImageNamesTest).
 */
public final class ImageNames {
  private static final String RESOURCE = "images.properties";
  private static final Properties NAMES = load();

  /** The node agent image, {@code <registry>/gpupt-node:<project version>}: the DaemonSet's default. */
  public static final String AGENT = name("agent");
  /** The operator image, {@code <registry>/gpupt-operator:<project version>}. */
  public static final String OPERATOR = name("operator");

  private ImageNames() {}

  private static Properties load() {
    try (InputStream in = ImageNames.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing beside " + ImageNames.class.getName()
            + "; the jar was not built by Maven (resource filtering writes it)");
      }
      Properties p = new Properties();
      p.load(in);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  private static String name(String key) {
    String v = NAMES.getProperty(key);
    if (v == null || v.contains("${")) {
      throw new IllegalStateException(RESOURCE + ": '" + key + "' is " + v + "; Maven resource filtering did not run");
    }
    return v;
  }
}
