package io.migtunnel.mux;

import io.migtunnel.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One bidirectional byte stream inside a tunnel session.
 *
 * <p>{@link #inbound()} delivers the peer's bytes; the demand of its one subscriber is what
 * returns credit to the peer, so a subscriber that stops requesting stops the peer's sender for
 * this stream alone. {@link #send} takes the local bytes; it requests buffers only while the peer
 * has granted credit. Every {@link ByteBuf} handed over changes owner: the subscriber of
 * {@code inbound()} must release what it receives, and {@code send} releases what it takes.
 */
public interface MuxStream {
    /** The stream id on the wire. */
    int id();

    /** The stream name (its route label), such as {@code migration} or {@code nbd/disk0}. */
    String name();

    /**
     * This side's urgency for the stream's writes: 0 (most urgent) to 7, from the session's
     * {@link StreamPriorities} by the stream's name.
     */
    int urgency();

    /** Whether this side opened the stream. */
    boolean isLocallyOpened();

    /**
     * The peer's bytes, in order; completes when the peer half-closes (FIN), fails with a
     * {@link StreamResetException} on reset. One subscriber only; cancelling resets the stream.
     */
    Flux<ByteBuf> inbound();

    /**
     * Sends {@code data} and half-closes (FIN) when it completes; an error resets the stream.
     * Subscribes to {@code data} when the returned Mono is subscribed; at most once per stream.
     * The Mono completes when FIN is queued and fails if the stream is reset first.
     */
    Mono<Void> send(Publisher<ByteBuf> data);

    /** For a peer-opened stream: the local end is connected; sends OPEN_OK. */
    void accept();

    /** Completes when the peer confirmed (OPEN_OK) a stream this side opened; fails on reset. */
    Mono<Void> onOpened();

    /** Resets the stream in both directions; the peer receives {@code code} and {@code message}. */
    void reset(ErrorCode code, String message);

    /** Completes when the stream has finished in both directions; fails if it was reset. */
    Mono<Void> onClose();
}
