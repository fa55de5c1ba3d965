package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.qemu.vm.BusyGuest;
import io.migtunnel.qemu.vm.GuestCheck;
import io.migtunnel.qemu.vm.GuestStatus;
import io.migtunnel.qemu.vm.QemuVm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** What the real-QEMU tests of a {@link MigrationRig#busy busy} rig check on the side that owns the guest. */
final class BusyGuestChecks {
    private final MigrationRig rig;
    private final BusyGuest guest;

    BusyGuestChecks(MigrationRig rig, BusyGuest guest) {
        this.rig = rig;
        this.guest = guest;
    }

    /** The destination runs the guest on, and both its RAM and its disks hold what the guest wrote, nothing lost. */
    void assertMigrated(MigrationSummary summary) throws Exception {
        assertThat(summary.destinationStatus()).isEqualTo("running");
        GuestStatus atSwitchover = rig.source.guestStatus();
        awaitProgress(rig.destination);
        GuestStatus later = rig.destination.guestStatus();
        assertThat(later.errors()).as("pages the guest found changed under it on the destination; serial:\n%s",
            rig.destination.serialLog()).isZero();
        assertThat(later.pagesDirtied()).as("the guest runs on from where it stopped on the source")
            .isGreaterThan(atSwitchover.pagesDirtied());
        for (int i = 0; i < later.lastWrites().size(); i++) {
            assertThat(later.lastWrites().get(i)).as("disk %d writes go on", i)
                .isGreaterThanOrEqualTo(atSwitchover.lastWrites().get(i));
        }
        check(rig.destination, rig.destinationImages);
    }

    /** Stops {@code vm}, checks the guest's RAM, quits it and checks its disks against the pristine images. */
    void check(QemuVm vm, Map<String, Path> images) throws Exception {
        vm.qmp().execute("stop").block(Duration.ofSeconds(10));
        GuestStatus status = vm.guestStatus();
        GuestCheck.ram(vm, guest).orThrow();
        vm.quit();
        int i = 0;
        for (String id : images.keySet()) {
            GuestCheck.disk(images.get(id), rig.pristine.get(id), i, guest, status.lastWrites().get(i)).orThrow();
            i++;
        }
    }

    /** Waits for the guest's first sweep and a write to every disk. */
    static void awaitRunning(QemuVm vm) throws Exception {
        vm.awaitGuest("the first sweep and a write to every disk", Duration.ofSeconds(30),
            s -> s.sweep() >= 2 && s.lastWrites().stream().allMatch(w -> w > 0));
    }

    /** Waits until the guest in {@code vm} has dirtied more pages and written every disk again. */
    static void awaitProgress(QemuVm vm) throws Exception {
        try {
            vm.awaitGuestProgress(Duration.ofSeconds(30));
        } catch (AssertionError | java.io.IOException e) {
            throw new AssertionError(e.getMessage() + "\nserial of " + vm.name() + ":\n" + vm.serialLog() + "\nlog:\n"
                + vm.log() + "\nquery-block: " + vm.qmp().queryBlock().block(Duration.ofSeconds(5)), e);
        }
    }
}
