package io.migtunnel.transport.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.protocol.ErrorCode;
import io.netty.channel.ChannelOption;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.tcp.TcpClient;

/**
 * The destination's answer to OPEN: dial the UNIX socket routed for the stream's name and join
 * it to the stream; an unknown name or a failed dial resets that stream alone.
 */
final class RouteAcceptor implements StreamAcceptor {
    private static final Logger log = LoggerFactory.getLogger(RouteAcceptor.class);
    private final Map<String, Path> routes;
    private final TcpClient local;

    RouteAcceptor(Map<String, Path> routes, Loops loops) {
        this.routes = routes;
        this.local = TcpClient.newConnection()
            .runOn(loops.resources())
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, SessionChannels.LOCAL_WATER_MARK)
            .handle((in, out) -> Mono.never());
    }

    @Override
    public void onOpen(MuxStream stream) {
        Path target = routes.get(stream.name());
        if (target == null) {
            log.warn("{}: no route for '{}' (routes: {})", stream, stream.name(), routes.keySet());
            stream.reset(ErrorCode.UNKNOWN_ROUTE, "no route for stream name '" + stream.name() + "' on the destination");
            return;
        }
        local.remoteAddress(() -> new DomainSocketAddress(target.toString()))
            .connect()
            .subscribe(conn -> conn.channel().eventLoop().execute(() -> {
                stream.accept();
                LocalSocketBridge.join(conn.channel(), stream);
            }), error -> stream.reset(ErrorCode.CONNECT_FAILED,
                "destination cannot connect to " + target + ": " + error.getMessage()));
    }
}
