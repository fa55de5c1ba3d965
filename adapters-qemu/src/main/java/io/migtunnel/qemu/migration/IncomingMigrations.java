package io.migtunnel.qemu.migration;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.qemu.migration.internal.ControlNames;
import io.migtunnel.qemu.migration.internal.IncomingMigration;
import io.migtunnel.transport.SessionRoutes;
import io.migtunnel.transport.StreamHandler;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The destination's orchestrated mode: serves the control stream a {@link SourceMigration} opens,
 * preparing the destination QEMU found by a {@link QmpLocator} (disk checks, NBD server on a
 * private socket, writable exports, capabilities, {@code migrate-incoming}) and routing that
 * session's migration and NBD streams to it.
 *
 * <pre>{@code
 * TunnelDestination.create().listen(addr)
 *     .handle(IncomingMigrations.CONTROL_STREAM, new IncomingMigrations(QmpLocator.directory(dir)))
 *     .bind().block();
 * }</pre>
 */
public final class IncomingMigrations implements StreamHandler {
    /** The stream name to pass to {@code TunnelDestination.handle}. */
    public static final String CONTROL_STREAM = ControlNames.CONTROL;

    private final QmpLocator locator;
    private final Set<Path> busy = new HashSet<>();

    public IncomingMigrations(QmpLocator locator) {
        this.locator = Objects.requireNonNull(locator, "locator");
    }

    @Override
    public void onStream(MuxStream stream, SessionRoutes routes) {
        IncomingMigration.serve(stream, routes, locator, busy);
    }
}
