package io.migtunnel.transport.internal;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * Event loops for an endpoint: the caller's, or one dedicated thread the endpoint owns. With one
 * thread, the tunnel connection and every local socket share a loop: a byte moves from one
 * socket to the other without a thread hop or a queue.
 */
record Loops(LoopResources resources, boolean owned) {
    static Loops of(LoopResources given, String name) {
        return given != null ? new Loops(given, false) : new Loops(new SingleLoop(name), true);
    }

    void dispose() {
        if (owned) {
            resources.disposeLater().subscribe();
        }
    }

    /** Server, selector and client channels all on the same single event loop. */
    private static final class SingleLoop implements LoopResources {
        private final EventLoopGroup group;

        SingleLoop(String name) {
            DefaultThreadFactory threads = new DefaultThreadFactory(name, true);
            group = Epoll.isAvailable() ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
        }

        @Override
        public EventLoopGroup onServer(boolean useNative) {
            return group;
        }

        @Override
        public EventLoopGroup onClient(boolean useNative) {
            return group;
        }

        @Override
        public EventLoopGroup onServerSelect(boolean useNative) {
            return group;
        }

        @Override
        public boolean isDisposed() {
            return group.isShuttingDown();
        }

        @Override
        public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
            return Mono.defer(() -> {
                group.shutdownGracefully(quietPeriod.toMillis(), timeout.toMillis(), TimeUnit.MILLISECONDS);
                return Mono.empty();
            });
        }

        @Override
        public Mono<Void> disposeLater() {
            return disposeLater(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
