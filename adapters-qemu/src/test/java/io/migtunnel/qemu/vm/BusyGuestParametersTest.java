package io.migtunnel.qemu.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.testing.RealBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@link BusyGuest}'s parameters, command line and kernel build, without QEMU. */
class BusyGuestParametersTest {

    @Test
    void theDefaultsAndTheirCommandLine() {
        BusyGuest guest = BusyGuest.defaults();
        assertThat(guest).isEqualTo(new BusyGuest(4 << 20, 32 << 20, 0, 50, 2048, 2048));
        assertThat(guest.commandLine()).isEqualTo(
            "ram_start=0x400000 ram_size=0x2000000 dirty_kib_s=0 disk_writes_s=50 region_start=2048 region_sectors=2048");
        assertThat(guest.pageCount()).isEqualTo(8192);
        assertThat(guest.ramEnd()).isEqualTo(36 << 20);
        assertThat(guest.minimumDiskBytes()).isEqualTo(4096 * 512);
    }

    @Test
    void withersChangeOneThing() {
        BusyGuest guest = BusyGuest.defaults().withRam(8 << 20, 1 << 20).withDirtyRate(4096).withDiskWrites(7)
            .withDiskRegion(100, 10);
        assertThat(guest).isEqualTo(new BusyGuest(8 << 20, 1 << 20, 4096, 7, 100, 10));
        assertThat(guest.commandLine()).isEqualTo(
            "ram_start=0x800000 ram_size=0x100000 dirty_kib_s=4096 disk_writes_s=7 region_start=100 region_sectors=10");
    }

    @Test
    void parametersOutOfRangeAreNamed() {
        BusyGuest d = BusyGuest.defaults();
        assertThatThrownBy(() -> d.withRam(0x3FF000, 4096)).hasMessageStartingWith("ramStart must be 4 KiB-aligned and"
            + " at least 0x400000 (above the kernel and status block), not 0x3ff000");
        assertThatThrownBy(() -> d.withRam(0x400800, 4096)).hasMessageStartingWith("ramStart must be");
        assertThatThrownBy(() -> d.withRam(4 << 20, 4095)).hasMessage("ramBytes must be a positive multiple of 4096, not 4095");
        assertThatThrownBy(() -> d.withRam(4 << 20, 0)).hasMessageStartingWith("ramBytes must be");
        assertThatThrownBy(() -> d.withRam(4 << 20, 3L << 30)).hasMessage("the RAM range 0x400000+0xc0000000 ends beyond 0xc0000000");
        assertThatThrownBy(() -> d.withDirtyRate(-1)).hasMessageStartingWith("dirtyKiBPerSecond must be 0 (flat out)");
        assertThatThrownBy(() -> d.withDiskWrites(-1)).hasMessageStartingWith("diskWritesPerSecond must be 0 (none)");
        assertThatThrownBy(() -> d.withDiskRegion(0, 0)).hasMessage("diskRegionSectors must be 1..4194304, not 0");
        assertThatThrownBy(() -> d.withDiskRegion(-1, 8)).hasMessageStartingWith("the disk region -1+8 must start");
        assertThatThrownBy(() -> d.withDiskRegion((1 << 28) - 4, 8))
            .hasMessageStartingWith("the disk region 268435452+8 must start at a sector >= 0 and end within LBA28");
        assertThatCode(() -> d.withRam(4 << 20, 4096).withDiskRegion(0, 1)).doesNotThrowAnyException();
    }

    @Test
    void theKernelIsBuiltOnceIntoACacheNamedByItsSourcesHash() throws Exception {
        RealBinaries.require("gcc", "ld");
        Path kernel = BusyGuest.kernel();
        assertThat(BusyGuest.kernel()).isEqualTo(kernel);
        assertThat(kernel.getParent().getFileName().toString()).matches("migtunnel-guest-[0-9a-f]{16}");
        assertThat(kernel.getParent().getParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir")));
        byte[] elf = Files.readAllBytes(kernel);
        assertThat(elf).startsWith(0x7F, 'E', 'L', 'F', 1 /* 32-bit */, 1 /* little-endian */);
        assertThat(elf.length).isLessThan(64 * 1024);
    }

    @Test
    void aMissingProgramIsNamedWithItsPackage() {
        assertThatThrownBy(() -> Commands.require("no-such-gcc-migtunnel", "gcc", "to build the busy guest's kernel"))
            .hasMessage("no-such-gcc-migtunnel is not on the PATH; it is needed to build the busy guest's kernel"
                + " (Debian package gcc: sudo apt-get install -y gcc)");
    }
}
