package io.migtunnel.qemu.nbd;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Decodes one NBD connection passively, from copies-free views of the bytes flowing each way, and
 * reports requests and replies to an {@link NbdRecorder}: it never alters, holds or releases a
 * buffer. Supports the fixed-newstyle handshake (NBD_OPT_GO or NBD_OPT_EXPORT_NAME), simple and
 * structured replies. Anything it does not understand (old-style handshake, extended headers,
 * garbage) stops decoding for the rest of the connection and is reported once.
 *
 * <p>NOT thread safe: feed both directions from one thread (the tunnel's event loop does).
 */
public final class NbdStreamObserver {
    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454F5054L;
    static final long OPTION_REPLY_MAGIC = 0x0003e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    static final int OPT_EXPORT_NAME = 1;
    static final int OPT_GO = 7;
    static final int REP_ACK = 1;
    static final int FLAG_C_NO_ZEROES = 2;
    static final int REPLY_FLAG_DONE = 1;
    static final int CHUNK_OFFSET_DATA = 1;

    private final NbdRecorder recorder;
    private final LongSupplier clock;
    private final Parser toServer = new ClientParser();
    private final Parser toClient = new ServerParser();
    private final Map<Long, InFlight> inFlight = new HashMap<>();
    private boolean noZeroes;
    private boolean exportNameSent;
    private boolean broken;

    private record InFlight(NbdCommand command, long length, long startNanos) {
    }

    public NbdStreamObserver(NbdRecorder recorder) {
        this(recorder, System::nanoTime);
    }

    NbdStreamObserver(NbdRecorder recorder, LongSupplier clock) {
        this.recorder = recorder;
        this.clock = clock;
    }

    /** Bytes the client sent towards the server (readable bytes of {@code buf}; not consumed). */
    public void clientToServer(ByteBuf buf) {
        toServer.feed(buf);
    }

    /** Bytes the server sent towards the client (readable bytes of {@code buf}; not consumed). */
    public void serverToClient(ByteBuf buf) {
        toClient.feed(buf);
    }

    /** Requests sent and not yet answered. */
    public int inFlight() {
        return inFlight.size();
    }

    /** Whether decoding stopped. */
    public boolean isBroken() {
        return broken;
    }

    /** The connection ended: requests still in flight are reported as abandoned. */
    public void close() {
        abandonInFlight();
    }

    private void stop(String reason) {
        if (!broken) {
            broken = true;
            abandonInFlight();
            recorder.onUndecodable(reason);
        }
    }

    private void abandonInFlight() {
        if (!inFlight.isEmpty()) {
            recorder.onAbandoned(inFlight.size());
            inFlight.clear();
        }
    }

    /** Collects fixed-size headers across buffer boundaries and skips payloads. */
    private abstract class Parser {
        private final ByteBuffer header = ByteBuffer.allocate(32);
        private int need;
        private long skip;

        Parser(int firstHeader) {
            need = firstHeader;
        }

        final void feed(ByteBuf buf) {
            int at = buf.readerIndex();
            int end = buf.writerIndex();
            while (at < end && !broken) {
                if (skip > 0) {
                    int n = (int) Math.min(skip, end - at);
                    skip -= n;
                    at += n;
                    continue;
                }
                int n = Math.min(need - header.position(), end - at);
                buf.getBytes(at, header.array(), header.position(), n);
                header.position(header.position() + n);
                at += n;
                if (header.position() == need) {
                    header.flip();
                    int next = onHeader(header);
                    if (next < 0) { // the bytes so far were a peek: keep them, read on to -next
                        header.limit(header.capacity()).position(need);
                        need = -next;
                    } else {
                        header.clear();
                        need = next;
                    }
                }
            }
        }

        /** Skips {@code bytes} payload bytes before the next header. */
        final void skip(long bytes) {
            skip = bytes;
        }

        /**
         * Handles a complete header of the size last asked for ({@code h.limit()}); returns the
         * next header's size, or {@code extend(n)} to read on until this header is n bytes long.
         */
        abstract int onHeader(ByteBuffer h);

        static int extend(int size) {
            return -size;
        }
    }

    /** Client → server: client flags, options, then requests (with WRITE payloads). */
    private final class ClientParser extends Parser {
        private boolean flagsSeen;

        ClientParser() {
            super(4);
        }

        @Override
        int onHeader(ByteBuffer h) {
            if (!flagsSeen) {
                flagsSeen = true;
                noZeroes = (h.getInt(0) & FLAG_C_NO_ZEROES) != 0;
                return 4;
            }
            if (h.limit() == 4) { // peek: an option or a request?
                int magic = h.getInt(0);
                if (magic == REQUEST_MAGIC) {
                    return extend(28);
                }
                if (magic == (int) (IHAVEOPT >>> 32)) {
                    return extend(16);
                }
                stop("unexpected client magic 0x" + Integer.toHexString(magic));
                return 4;
            }
            if (h.limit() == 16) {
                if (h.getLong(0) != IHAVEOPT) {
                    stop("bad option magic");
                    return 4;
                }
                int option = h.getInt(8);
                long length = Integer.toUnsignedLong(h.getInt(12));
                if (option == OPT_EXPORT_NAME) {
                    exportNameSent = true;
                }
                skip(length);
                return 4;
            }
            // 28-byte request header: magic, flags, type, handle, offset, length
            NbdCommand command = NbdCommand.of(h.getShort(6) & 0xffff);
            long handle = h.getLong(8);
            long length = Integer.toUnsignedLong(h.getInt(24));
            recorder.onRequest(command, length);
            if (command != NbdCommand.DISC) {
                inFlight.put(handle, new InFlight(command, length, clock.getAsLong()));
            }
            if (command == NbdCommand.WRITE) {
                skip(length);
            }
            return 4;
        }
    }

    /** Server → client: greeting, option replies, then simple or structured replies. */
    private final class ServerParser extends Parser {
        private boolean greeted;
        private boolean transmission;
        /** Bytes of READ data carried by the reply being parsed. */
        private long replyData;

        ServerParser() {
            super(18);
        }

        @Override
        int onHeader(ByteBuffer h) {
            if (!greeted) {
                greeted = true;
                if (h.getLong(0) != NBDMAGIC || h.getLong(8) != IHAVEOPT) {
                    stop("not a fixed-newstyle NBD greeting");
                }
                return 8;
            }
            if (!transmission) {
                return onOptionReply(h);
            }
            if (h.limit() == 4) {
                int magic = h.getInt(0);
                if (magic == SIMPLE_REPLY_MAGIC) {
                    return extend(16);
                }
                if (magic == STRUCTURED_REPLY_MAGIC) {
                    return extend(20);
                }
                stop("unexpected reply magic 0x" + Integer.toHexString(magic));
                return 4;
            }
            if (h.limit() == 16) { // simple reply: magic, error, handle
                int error = h.getInt(4);
                InFlight request = inFlight.remove(h.getLong(8));
                if (request == null) {
                    stop("reply to an unknown handle");
                    return 4;
                }
                long data = request.command == NbdCommand.READ && error == 0 ? request.length : 0;
                skip(data);
                recorder.onReply(request.command, data, clock.getAsLong() - request.startNanos, error);
                return 4;
            }
            // structured reply chunk: magic, flags, type, handle, length
            int flags = h.getShort(4) & 0xffff;
            int type = h.getShort(6) & 0xffff;
            long handle = h.getLong(8);
            long length = Integer.toUnsignedLong(h.getInt(16));
            InFlight request = inFlight.get(handle);
            if (request == null) {
                stop("structured reply to an unknown handle");
                return 4;
            }
            if (type == CHUNK_OFFSET_DATA && length >= 8) {
                replyData += length - 8;
            }
            boolean error = (type & 0x8000) != 0;
            skip(length);
            if ((flags & REPLY_FLAG_DONE) != 0) {
                inFlight.remove(handle);
                recorder.onReply(request.command, replyData, clock.getAsLong() - request.startNanos, error ? -1 : 0);
                replyData = 0;
            }
            return 4;
        }

        /** Option phase: an 8-byte peek tells an option reply from NBD_OPT_EXPORT_NAME's bare export info. */
        private int onOptionReply(ByteBuffer h) {
            if (h.limit() == 8) {
                if (h.getLong(0) == OPTION_REPLY_MAGIC) {
                    return extend(20);
                }
                if (exportNameSent) { // export size u64 + flags u16 (+ 124 zero bytes)
                    return extend(8 + 2 + (noZeroes ? 0 : 124));
                }
                stop("bad option reply magic");
                return 8;
            }
            if (h.limit() != 20) { // the export info after NBD_OPT_EXPORT_NAME
                transmission = true;
                return 4;
            }
            int option = h.getInt(8);
            int type = h.getInt(12);
            skip(Integer.toUnsignedLong(h.getInt(16)));
            if (option == OPT_GO && type == REP_ACK) {
                transmission = true;
                return 4;
            }
            return 8;
        }
    }
}
