package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** {@link GuestCheck#ramDump}: every page of a dump of the range against the status block. */
final class RamCheck {
    private static final int CHUNK_PAGES = 256;

    private final GuestStatus status;
    private final BusyGuest guest;
    private final GuestCheck.Problems problems = new GuestCheck.Problems();

    private RamCheck(GuestStatus status, BusyGuest guest) {
        this.status = status;
        this.guest = guest;
    }

    static GuestCheck.Report check(Path dump, GuestStatus status, BusyGuest guest) throws IOException {
        return new RamCheck(status, guest).run(dump);
    }

    private GuestCheck.Report run(Path dump) throws IOException {
        int pages = guest.pageCount();
        String summary = "RAM: " + pages + " pages, sweep " + status.sweep() + " at page " + status.position() + ", "
            + status.errors() + " errors";
        if (checkStatus(pages)) {
            try (FileChannel ch = FileChannel.open(dump, StandardOpenOption.READ)) {
                if (ch.size() != guest.ramBytes()) {
                    problems.add("the dump has " + ch.size() + " bytes, the range " + guest.ramBytes());
                } else {
                    checkPages(ch, pages);
                }
            }
        }
        return problems.report(summary);
    }

    /** Whether the status block describes a sweep of this range; adds what disagrees. */
    private boolean checkStatus(int pages) {
        if (status.errors() != 0) {
            problems.add("the guest itself counted " + status.errors() + " errors"
                + (status.firstBadPage() < 0 ? "" : String.format(", the first at page 0x%x", status.firstBadPage()))
                + " (see its serial log)");
        }
        if (status.sweep() < 1) {
            problems.add("the guest has not finished filling the range (sweep 0)");
            return false;
        }
        if (status.position() >= pages) {
            problems.add("the status block's position " + status.position() + " is beyond the " + pages + " pages");
            return false;
        }
        long sweeps = (status.sweep() - 1) * pages + status.position();
        if (status.pagesDirtied() != sweeps && status.pagesDirtied() != sweeps - 1) {
            problems.add("the status block counts " + status.pagesDirtied() + " pages dirtied, but sweep "
                + status.sweep() + " at page " + status.position() + " makes " + sweeps);
        }
        return true;
    }

    private void checkPages(FileChannel ch, int pages) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_PAGES * BusyGuest.PAGE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int first = 0; first < pages; first += CHUNK_PAGES) {
            int count = Math.min(CHUNK_PAGES, pages - first);
            chunk.clear().limit(count * BusyGuest.PAGE_BYTES);
            long at = (long) first * BusyGuest.PAGE_BYTES;
            while (chunk.hasRemaining()) {
                if (ch.read(chunk, at + chunk.position()) < 0) {
                    throw new IOException("the dump ended early");
                }
            }
            for (int p = 0; p < count; p++) {
                checkPage(chunk, p * BusyGuest.PAGE_BYTES, first + p);
            }
        }
    }

    private void checkPage(ByteBuffer b, int offset, int index) {
        long address = guest.ramStart() + (long) index * BusyGuest.PAGE_BYTES;
        int sweep = (int) (index < status.position() ? status.sweep() : status.sweep() - 1);
        boolean eitherSweep = index == status.position(); // written, the status not yet updated
        int magic = b.getInt(offset);
        int pageIndex = b.getInt(offset + 4);
        int pageSweep = b.getInt(offset + 8);
        int check = b.getInt(offset + 12);
        String expected = eitherSweep ? sweep + " or " + (sweep + 1) : Integer.toString(sweep);
        if (magic != GuestPages.MAGIC || pageIndex != index || check != GuestPages.check(index, pageSweep)) {
            problems.add(String.format("page 0x%x: header holds magic 0x%08x, index %d, sweep %d, check 0x%08x; expected"
                    + " magic 0x%08x, index %d, sweep %s, check 0x%08x", address, magic, Integer.toUnsignedLong(pageIndex),
                Integer.toUnsignedLong(pageSweep), check, GuestPages.MAGIC, index, expected,
                GuestPages.check(index, sweep)));
        } else if (pageSweep != sweep && !(eitherSweep && pageSweep == sweep + 1)) {
            problems.add(String.format("page 0x%x: holds sweep %d, expected sweep %s (status: sweep %d at page %d)",
                address, Integer.toUnsignedLong(pageSweep), expected, status.sweep(), status.position()));
        }
        int differ = 0;
        int firstWord = -1;
        for (int w = GuestPages.HEADER_WORDS; w < GuestPages.WORDS; w++) {
            if (b.getInt(offset + w * Integer.BYTES) != GuestPages.bodyWord(index, w)) {
                differ++;
                firstWord = firstWord < 0 ? w : firstWord;
            }
        }
        if (differ > 0) {
            problems.add(String.format("page 0x%x: body word at +0x%x holds 0x%08x, expected 0x%08x (%d of %d words differ)",
                address, firstWord * Integer.BYTES, b.getInt(offset + firstWord * Integer.BYTES),
                GuestPages.bodyWord(index, firstWord), differ, GuestPages.WORDS - GuestPages.HEADER_WORDS));
        }
    }
}
