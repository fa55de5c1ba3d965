package io.migtunnel.qemu.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * An asynchronous QMP event, e.g. {@code BLOCK_JOB_READY} or {@code SHUTDOWN}.
 *
 * @param name the event name
 * @param data the event's {@code data} object (an empty object when QEMU sent none)
 * @param timestamp when QEMU emitted the event (its {@code timestamp}, host wall clock)
 */
public record QmpEvent(String name, JsonNode data, Instant timestamp) {
}
