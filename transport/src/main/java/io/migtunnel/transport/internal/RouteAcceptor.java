package io.migtunnel.transport.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.StreamNames;
import io.migtunnel.transport.SessionRoutes;
import io.migtunnel.transport.StreamHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.tcp.TcpClient;

/**
 * The destination's answer to OPEN: dial the UNIX socket routed for the stream's name and join
 * it to the stream; an unknown name or a failed dial resets that stream alone.
 *
 * <p>Dials to one route happen one at a time, in the order the streams were opened, so the target
 * accepts connections in the order the source's clients made them. QEMU needs this: with multifd,
 * the destination takes the first connection it accepts as the main migration channel.
 * One instance per session; confined to the session's event loop.
 */
final class RouteAcceptor implements StreamAcceptor {
    private static final Logger log = LoggerFactory.getLogger(RouteAcceptor.class);
    private final Map<String, Path> routes;
    private final Map<String, StreamHandler> handlers;
    private final Map<String, Path> added = new ConcurrentHashMap<>();
    private final SessionRoutes sessionRoutes = new SessionRoutes() {
        @Override
        public void add(String name, Path socket) {
            added.put(StreamNames.requireValid(name), Objects.requireNonNull(socket, "socket"));
        }

        @Override
        public void remove(String name) {
            added.remove(name);
        }
    };
    private final TcpClient local;
    private final EventLoop loop;
    /** Per route: streams waiting for their dial; the head is being dialled. */
    private final Map<String, ArrayDeque<MuxStream>> dialing = new HashMap<>();

    RouteAcceptor(Map<String, Path> routes, Map<String, StreamHandler> handlers, Loops loops, EventLoop sessionLoop) {
        this.routes = routes;
        this.handlers = handlers;
        this.loop = sessionLoop;
        this.local = TcpClient.newConnection()
            .runOn(loops.resources())
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, SessionChannels.LOCAL_WATER_MARK)
            .option(ChannelOption.RCVBUF_ALLOCATOR, SessionChannels.LOCAL_READS)
            .option(ChannelOption.ALLOCATOR, SessionChannels.ALLOCATOR)
            .handle((in, out) -> Mono.never());
    }

    @Override
    public void onOpen(MuxStream stream) {
        StreamHandler handler = handlers.get(stream.name());
        if (handler != null) {
            handler.onStream(stream, sessionRoutes);
            return;
        }
        Path target = added.getOrDefault(stream.name(), routes.get(stream.name()));
        if (target == null) {
            log.warn("{}: no route for '{}' (routes: {})", stream, stream.name(), known());
            stream.reset(ErrorCode.UNKNOWN_ROUTE, "no route for stream name '" + stream.name() + "' on the destination");
            return;
        }
        ArrayDeque<MuxStream> queue = dialing.computeIfAbsent(stream.name(), n -> new ArrayDeque<>());
        queue.add(stream);
        if (queue.size() == 1) {
            dial(queue, target);
        }
    }

    private java.util.Set<String> known() {
        java.util.Set<String> names = new java.util.TreeSet<>(routes.keySet());
        names.addAll(added.keySet());
        names.addAll(handlers.keySet());
        return names;
    }

    private void dial(ArrayDeque<MuxStream> queue, Path target) {
        MuxStream stream = queue.peek();
        local.remoteAddress(() -> new DomainSocketAddress(target.toString()))
            .connect()
            .subscribe(conn -> conn.channel().eventLoop().execute(() -> {
                stream.accept();
                LocalSocketBridge.join(conn.channel(), stream);
                loop.execute(() -> next(queue, target));
            }), error -> {
                stream.reset(ErrorCode.CONNECT_FAILED, "destination cannot connect to " + target + ": "
                    + (error instanceof java.io.FileNotFoundException ? "no such socket"
                        : error.getMessage() != null ? error.getMessage() : error.toString()));
                loop.execute(() -> next(queue, target));
            });
    }

    private void next(ArrayDeque<MuxStream> queue, Path target) {
        queue.poll();
        if (!queue.isEmpty()) {
            dial(queue, target);
        }
    }
}
