package io.migtunnel.transport.internal;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.mux.internal.MuxSession;
import io.migtunnel.mux.internal.SessionDirectory;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslHandler;
import reactor.netty.Connection;
import reactor.netty.NettyPipeline;

/** Puts a {@link MuxSession} on a freshly connected tunnel channel. */
public final class SessionChannels {
    /**
     * Outbound buffer marks of the tunnel connection. Netty's 64 KiB default caps throughput on
     * fast links (netty #10193); 4 MiB keeps a few frames queued without holding much memory.
     */
    public static final WriteBufferWaterMark TUNNEL_WATER_MARK = new WriteBufferWaterMark(
        Integer.getInteger("migtunnel.tunnel.lowWaterMark", 1 << 20),
        Integer.getInteger("migtunnel.tunnel.highWaterMark", 4 << 20));
    /**
     * {@code TCP_NOTSENT_LOWAT} of the tunnel socket: the kernel takes no more bytes while this many
     * are queued and unsent, so the choice of the next frame (the most urgent stream first) is
     * made late, in this process, instead of behind a deep kernel queue. 0 leaves the kernel's default.
     */
    static final long TUNNEL_NOTSENT_LOWAT = Long.getLong("migtunnel.tunnel.notsentLowat", 0);
    /**
     * {@code SO_RCVBUF} of the tunnel socket, 0 for the kernel's autotuning: what a receiver slower
     * than its sender lets pile up unread, ahead of every urgent frame that follows.
     */
    static final int TUNNEL_RCVBUF = Integer.getInteger("migtunnel.tunnel.rcvbuf", 0);
    /** Local sockets: enough to keep the kernel buffer full, small enough to push back quickly. */
    public static final WriteBufferWaterMark LOCAL_WATER_MARK = new WriteBufferWaterMark(256 << 10, 1 << 20);

    /** Local socket reads: start at 64 KiB, grow to 1 MiB (fewer system calls per byte). */
    public static final AdaptiveRecvByteBufAllocator LOCAL_READS = reads("local", 65536, 1 << 20);
    /** Tunnel reads: large, so most frames are sliced out of one read instead of copied together. */
    public static final AdaptiveRecvByteBufAllocator TUNNEL_READS = reads("tunnel", 262144, 2 << 20);

    /**
     * Reads starting at {@code initial} bytes, of up to {@code max} ({@code migtunnel.KIND.maxRead}), at most
     * {@code migtunnel.KIND.readsPerLoop} (Netty's default 16) per channel per event-loop turn: how
     * long one busy channel keeps the loop from every other, urgent ones included.
     */
    private static AdaptiveRecvByteBufAllocator reads(String kind, int initial, int max) {
        int largest = Integer.getInteger("migtunnel." + kind + ".maxRead", max);
        AdaptiveRecvByteBufAllocator a = new AdaptiveRecvByteBufAllocator(4096, Math.min(initial, largest), largest);
        a.maxMessagesPerRead(Integer.getInteger("migtunnel." + kind + ".readsPerLoop", 16));
        return a;
    }

    /**
     * Pooled buffers in 16 MiB chunks (Netty's default is 4 MiB). Reads of up to 2 MiB churned
     * 4 MiB chunks: each new chunk is zero-filled by the JVM, which cost ~15% of the CPU per byte
     * moved (measured with perf on the NBD benchmark).
     */
    public static final PooledByteBufAllocator ALLOCATOR = new PooledByteBufAllocator(true,
        0, PooledByteBufAllocator.defaultNumDirectArena(), 8192, 11,
        PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(), true);

    private static final String CODEC = "migtunnel.frames";

    private SessionChannels() {
    }

    /**
     * Creates the session for {@code connection}, installs the frame codec and sends HELLO. A
     * server's resumable sessions are entered in {@code directory} (null for a client).
     */
    public static MuxSession attach(Connection connection, boolean client, SessionConfig config, StreamAcceptor acceptor,
                                 SessionListener listener, SessionDirectory directory) {
        Channel ch = connection.channel();
        configure(ch, config);
        MuxSession session = new MuxSession(client, config, new ChannelFrameSink(ch), ch.eventLoop(), acceptor,
            SessionListener.all(new LoggingListener(String.valueOf(ch.remoteAddress())), listener));
        if (directory != null) {
            session.serveResumes(directory, PeerIdentity.of(ch));
        }
        addCodec(ch, new FrameCodecHandler(session, config.maxFramePayload()));
        session.start();
        ch.config().setAutoRead(true); // channels start with auto-read off so no byte precedes the codec
        return session;
    }

    /**
     * Client: puts a new {@code connection} under the disconnected {@code session}, which resumes
     * on it (PROTOCOL.md section 13.3); the link's {@link io.migtunnel.mux.internal.Link#resumed()}
     * tells whether it did.
     */
    public static io.migtunnel.mux.internal.Link resume(Connection connection, MuxSession session) {
        Channel ch = connection.channel();
        configure(ch, session.config());
        io.migtunnel.mux.internal.Link link = session.resumeOver(new ChannelFrameSink(ch));
        addCodec(ch, new FrameCodecHandler(link, session.config().maxFramePayload()));
        link.start();
        ch.config().setAutoRead(true);
        return link;
    }

    /**
     * Socket options of a tunnel connection. {@code TCP_USER_TIMEOUT} (epoll) makes the kernel give
     * up on a connection whose sent bytes stay unacknowledged for the keepalive timeout, so a dead
     * peer is noticed even while this side is busy writing.
     */
    private static void configure(Channel ch, SessionConfig config) {
        ch.config().setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, TUNNEL_WATER_MARK);
        ch.config().setOption(ChannelOption.TCP_NODELAY, true);
        ch.config().setRecvByteBufAllocator(TUNNEL_READS);
        if (TUNNEL_RCVBUF > 0) {
            ch.config().setOption(ChannelOption.SO_RCVBUF, TUNNEL_RCVBUF);
        }
        if (ch instanceof EpollSocketChannel) {
            ch.config().setOption(EpollChannelOption.TCP_USER_TIMEOUT, (int) config.keepaliveTimeout().toMillis());
            if (TUNNEL_NOTSENT_LOWAT > 0) {
                ch.config().setOption(EpollChannelOption.TCP_NOTSENT_LOWAT, TUNNEL_NOTSENT_LOWAT);
            }
        }
    }

    /**
     * Puts the codec first among the handlers that see plaintext: right after TLS when there is
     * TLS (whose handshake must be complete), else first. Reactor Netty's own inbound bridge never
     * sees tunnel bytes.
     */
    private static void addCodec(Channel ch, FrameCodecHandler codec) {
        ChannelPipeline pipeline = ch.pipeline();
        SslHandler tls = pipeline.get(SslHandler.class);
        if (tls == null) {
            pipeline.addFirst(CODEC, codec);
            return;
        }
        if (!tls.handshakeFuture().isSuccess()) {
            throw new IllegalStateException("session attached before the TLS handshake completed");
        }
        String after = pipeline.get(NettyPipeline.SslReader) != null ? NettyPipeline.SslReader
            : pipeline.context(tls).name();
        pipeline.addAfter(after, CODEC, codec);
    }

}
