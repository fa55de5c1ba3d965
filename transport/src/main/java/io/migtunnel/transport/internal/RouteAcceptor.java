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
 * <p>Dials to one socket happen one at a time, in the order the streams were opened, whatever
 * names routed them there, so the target accepts connections in the order the source's clients
 * made them. QEMU needs this: with multifd, the destination takes the first connection it accepts
 * as the main migration channel, and with postcopy-preempt the second as the preempt channel
 * (stream {@code migration/preempt}, routed to the same socket as {@code migration}). A stream
 * that ends while it waits (reset by the peer, or its session closing) leaves the queue and is
 * never dialled. One instance per session; confined to the session's event loop.
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
    /** Per target socket: its dial in flight and the streams waiting behind it. */
    private final Map<Path, RouteQueue> queues = new HashMap<>();
    /** Whether this session has logged the known routes for an unknown stream name. */
    private boolean toldRoutes;

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
            if (!toldRoutes) { // once per session: the reset of each such stream is logged, rate limited
                toldRoutes = true;
                log.warn("{}: no route for '{}' (routes: {})", stream, stream.name(), known());
            } else {
                log.debug("{}: no route for '{}'", stream, stream.name());
            }
            stream.reset(ErrorCode.UNKNOWN_ROUTE, "no route for stream name '" + stream.name() + "' on the destination");
            return;
        }
        RouteQueue queue = queues.computeIfAbsent(target, t -> new RouteQueue());
        if (!queue.dialing) {
            queue.dialing = true;
            dial(queue, stream, target);
            return;
        }
        Waiting waiting = new Waiting(stream, target);
        queue.waiting.add(waiting);
        // terminal signals come on the session's loop: a reset stream leaves the queue at once
        Runnable leave = () -> queue.waiting.remove(waiting);
        stream.onClose().subscribe(null, e -> leave.run(), leave);
    }

    private java.util.Set<String> known() {
        java.util.Set<String> names = new java.util.TreeSet<>(routes.keySet());
        names.addAll(added.keySet());
        names.addAll(handlers.keySet());
        return names;
    }

    private void dial(RouteQueue queue, MuxStream stream, Path target) {
        local.remoteAddress(() -> new DomainSocketAddress(target.toString()))
            .connect()
            .subscribe(conn -> conn.channel().eventLoop().execute(() -> {
                stream.accept();
                LocalSocketBridge.join(conn.channel(), stream);
                loop.execute(() -> next(queue));
            }), error -> {
                stream.reset(ErrorCode.CONNECT_FAILED, "destination cannot connect to " + target + ": "
                    + (error instanceof java.io.FileNotFoundException ? "no such socket"
                        : error.getMessage() != null ? error.getMessage() : error.toString()));
                loop.execute(() -> next(queue));
            });
    }

    private void next(RouteQueue queue) {
        Waiting w = queue.waiting.poll();
        if (w == null) {
            queue.dialing = false;
        } else {
            dial(queue, w.stream(), w.target());
        }
    }

    /** One socket's dials: at most one in flight, the rest waiting in the order they were opened. */
    private static final class RouteQueue {
        /** Whether a dial is in flight; the next waiting stream is dialled when it has ended. */
        boolean dialing;
        /** Streams still open, waiting for their dial; bounded by the session's stream limit. */
        final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    }

    /** A stream waiting for its dial, and the socket its route named when it opened. */
    private record Waiting(MuxStream stream, Path target) {
    }
}
