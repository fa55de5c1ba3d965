package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A VM name from the peer becomes at most one validated file name inside the configured directory. */
class QmpLocatorTest {
    @TempDir
    Path dir;

    @Test
    void aDirectoryMapsValidNamesToTheirSocketFile() throws Exception {
        Files.createFile(dir.resolve("web-1.qmp"));
        assertThat(QmpLocator.directory(dir).locate("web-1")).isEqualTo(dir.resolve("web-1.qmp"));
    }

    @Test
    void pathLikeOrOddNamesAreRefusedBeforeTouchingTheFilesystem() {
        QmpLocator locator = QmpLocator.directory(dir);
        for (String bad : new String[] {"../etc/passwd", "/abs", ".hidden", "a/b", "", "x".repeat(65), "sp ace"}) {
            assertThatThrownBy(() -> locator.locate(bad)).as(bad)
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid VM name");
        }
        assertThatThrownBy(() -> locator.locate(null)).hasMessageContaining("invalid VM name");
    }

    @Test
    void anUnknownVmIsNamedInTheRefusal() {
        assertThatThrownBy(() -> QmpLocator.directory(dir).locate("ghost"))
            .hasMessage("no VM 'ghost' on the destination: " + dir.resolve("ghost.qmp") + " does not exist");
    }

    @Test
    void optionsRejectImpossibleValues() {
        assertThatThrownBy(() -> MigrationOptions.defaults().withMultifd(-1)).hasMessageContaining("multifd");
        assertThatThrownBy(() -> MigrationOptions.defaults().withMaxBandwidth(-5)).hasMessageContaining("bandwidth");
    }
}
