package io.migtunnel.qemu.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The formats the guest and the checker share (guest.c): status block, page header, disk record. */
class GuestFormatsTest {

    @Test
    void theStatusBlockLayout() {
        ByteBuffer b = ByteBuffer.allocate(GuestStatus.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x5347544D).putInt(4, 1); // "MTGS", version 1
        b.putInt(8, 41).putInt(12, 1200).putLong(16, 8192L * 40 + 1200).putLong(24, 3 * 3_579_545L);
        b.putInt(32, 2).putInt(36, 0x401000).putInt(40, GuestStatus.RUNNING);
        b.putLong(56, 1530).putLong(64, 1529).putLong(72, 0).putLong(80, 0);
        b.putInt(112, 32768).putInt(116, 32768); // slots 0 and 1 hold disks
        GuestStatus status = GuestStatus.parse(b.array());
        assertThat(status).isEqualTo(new GuestStatus(41, 1200, 8192L * 40 + 1200, List.of(1530L, 1529L), 2, 0x401000,
            3 * 3_579_545L));
        assertThat(status.uptime()).isEqualTo(Duration.ofSeconds(3));
        assertThat(status.lastWrite(1)).isEqualTo(1529);
        assertThat(status.lastWrite(3)).isZero();
        assertThat(GuestStatus.state(b.array())).isEqualTo(GuestStatus.RUNNING);

        b.putInt(36, 0xFFFFFFFF);
        assertThat(GuestStatus.parse(b.array()).firstBadPage()).isEqualTo(-1);
        b.putInt(4, 2);
        assertThat(GuestStatus.present(b.array())).isFalse();
        assertThatThrownBy(() -> GuestStatus.parse(new byte[GuestStatus.SIZE]))
            .hasMessage("no busy guest status block (magic and version) at 0x3ff000");
    }

    @Test
    void aDiskRecordReadsBackAndEveryDamageIsNamed() {
        long lba = 1030;
        byte[] record = DiskRecords.encode(1, 5_000_000_000L, lba, 7);
        ByteBuffer words = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(words.getInt(0)).isEqualTo(0x5744544D); // "MTDW"
        assertThat(words.getInt(4)).isEqualTo(1);
        assertThat(words.getLong(8)).isEqualTo(5_000_000_000L);
        assertThat(words.getLong(16)).isEqualTo(lba);
        assertThat(words.getInt(24)).isEqualTo(7);
        assertThat(words.getInt(28)).isEqualTo(1);

        assertThat(DiskRecords.read(ByteBuffer.wrap(record), 1, lba)).isEqualTo(new DiskRecords.Found(5_000_000_000L, null));
        assertThat(DiskRecords.read(ByteBuffer.wrap(record), 0, lba).damage()).isEqualTo("a record of disk 1");
        assertThat(DiskRecords.read(ByteBuffer.wrap(record), 1, lba + 1).damage()).isEqualTo("a record for LBA 1030");
        assertThat(DiskRecords.read(ByteBuffer.allocate(512), 1, lba)).isEqualTo(new DiskRecords.Found(0, "no record"));
        byte[] torn = record.clone();
        torn[100] ^= 1;
        assertThat(DiskRecords.read(ByteBuffer.wrap(torn), 1, lba).damage()).isEqualTo("a damaged record (bad checksum)");
    }

    @Test
    void aPageHeaderChecksItsIndexAndSweep() {
        assertThat(GuestPages.check(100, 41)).isNotEqualTo(GuestPages.check(100, 40)).isNotEqualTo(GuestPages.check(101, 41));
        assertThat(GuestPages.bodyWord(100, 4)).isNotEqualTo(GuestPages.bodyWord(100, 5)).isNotEqualTo(GuestPages.bodyWord(101, 4));
    }
}
