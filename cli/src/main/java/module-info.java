/** The {@code migtunnel} command line: destination, source, migrate and demo. */
module io.migtunnel.cli {
    requires io.migtunnel.metrics;
    requires info.picocli;
    requires jdk.unsupported;
    requires org.slf4j;

    opens io.migtunnel.cli to info.picocli;
}
