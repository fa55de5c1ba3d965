package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * The stream table of RESUME and RESUME_OK (section 13.2): the sender's view of every stream it
 * has not forgotten, so that both sides can retransmit and reconcile after a lost connection.
 *
 * @param lastPeerId the highest id of the receiver's parity the sender has seen an OPEN for
 * @param entries    in increasing stream id order, each id once
 */
public record ResumeTable(int lastPeerId, List<Entry> entries) {
    /** Bytes of one entry on the wire. */
    public static final int ENTRY_BYTES = 21;
    /** The most entries a table may have: what a resumable session may hold, streams and tombstones. */
    public static final int MAX_ENTRIES = 65_536;
    /** The largest table on the wire. */
    public static final int MAX_BYTES = 8 + MAX_ENTRIES * ENTRY_BYTES;

    /** State bit: the acceptor sent, or the opener received, OPEN_OK. */
    public static final int OPEN_OK = 0x01;
    /** State bit: the sender of the table has received the stream's FIN. */
    public static final int FIN_RECEIVED = 0x02;
    /** State bit: the sender of the table has sent FIN. */
    public static final int FIN_SENT = 0x04;
    /** State bit: the stream ended abruptly; {@link Entry#resetCode()} is valid. */
    public static final int RESET = 0x08;
    /** State bit: the stream ended normally. */
    public static final int CLOSED = 0x10;
    private static final int KNOWN_STATES = OPEN_OK | FIN_RECEIVED | FIN_SENT | RESET | CLOSED;

    public ResumeTable {
        entries = List.copyOf(entries);
    }

    /**
     * One stream.
     *
     * @param receivedOffset bytes the sender of the table has received on the stream
     * @param resetCode      the RESET's code when {@link #RESET} is set, else 0
     */
    public record Entry(int streamId, int state, long receivedOffset, long resetCode) {
    }

    /** Writes the table as section 13.2 lays it out. */
    public void writeTo(ByteBuf out) {
        out.writeInt(lastPeerId);
        out.writeInt(entries.size());
        for (Entry e : entries) {
            out.writeInt(e.streamId());
            out.writeByte(e.state());
            out.writeLong(e.receivedOffset());
            out.writeInt((int) e.resetCode());
            out.writeInt(0);
        }
    }

    /** Bytes {@link #writeTo} writes. */
    public int encodedLength() {
        return 8 + entries.size() * ENTRY_BYTES;
    }

    /**
     * Reads and validates the {@code length} bytes at {@code index} of {@code in}.
     *
     * @throws ProtocolException {@code PROTOCOL_ERROR} naming what is wrong: a count that does not
     *                           match the length or exceeds {@link #MAX_ENTRIES}, ids out of order or
     *                           repeated, reserved state bits, a negative offset
     */
    public static ResumeTable read(ByteBuf in, int index, int length) {
        if (length < 8) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "resume table of " + length + " bytes, at least 8 needed");
        }
        int lastPeerId = in.getInt(index);
        long count = in.getUnsignedInt(index + 4);
        if (count > MAX_ENTRIES || 8 + count * ENTRY_BYTES != length) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "resume table says " + count + " entries in "
                + (length - 8) + " bytes (" + ENTRY_BYTES + " each, at most " + MAX_ENTRIES + ")");
        }
        List<Entry> entries = new ArrayList<>((int) count);
        long previous = 0;
        for (int i = 0; i < count; i++) {
            int at = index + 8 + i * ENTRY_BYTES;
            long id = in.getUnsignedInt(at);
            int state = in.getUnsignedByte(at + 4);
            long received = in.getLong(at + 5);
            long resetCode = in.getUnsignedInt(at + 13);
            if (id == 0 || id > Integer.MAX_VALUE || id <= previous) {
                throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "resume table entry " + i + ": stream id " + id
                    + (id <= previous && id != 0 ? " not above " + previous : " out of range"));
            }
            if ((state & ~KNOWN_STATES) != 0) {
                throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "resume table entry for stream " + id
                    + ": reserved state bits 0x" + Integer.toHexString(state & ~KNOWN_STATES));
            }
            if (received < 0) {
                throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "resume table entry for stream " + id
                    + ": received offset " + Long.toUnsignedString(received) + " out of range");
            }
            entries.add(new Entry((int) id, state, received, resetCode));
            previous = id;
        }
        return new ResumeTable(lastPeerId, entries);
    }
}
