package io.migtunnel.cli;

import io.migtunnel.transport.Tunnel;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import sun.misc.Signal;

/** Runs a tunnel until SIGTERM/SIGINT (graceful: exit 0) or until it closes on its own. */
final class Lifecycle {
    /** How long open streams may finish after SIGTERM. */
    static final Duration DRAIN = Duration.ofSeconds(5);

    private Lifecycle() {
    }

    /**
     * Blocks until the tunnel ends; returns the process exit code. {@code ready} runs once SIGTERM
     * and SIGINT are handled: a supervisor that signals the process as soon as it says "ready"
     * then always gets the drain, never the JVM's default exit 143.
     */
    static int runUntilStopped(Tunnel tunnel, Logger log, Runnable ready) {
        CountDownLatch done = new CountDownLatch(1);
        int[] code = {0};
        boolean[] stopping = {false};
        sun.misc.SignalHandler stop = sig -> {
            synchronized (code) {
                if (stopping[0]) {
                    return;
                }
                stopping[0] = true;
            }
            log.info("SIG{}: stopping (draining up to {} s)", sig.getName(), DRAIN.toSeconds());
            tunnel.shutdown(DRAIN).subscribe(null, e -> done.countDown(), done::countDown);
        };
        Signal.handle(new Signal("TERM"), stop);
        Signal.handle(new Signal("INT"), stop);
        ready.run();
        tunnel.onClose().subscribe(null, e -> {
            synchronized (code) {
                if (!stopping[0]) {
                    log.error("tunnel closed: {}", e.getMessage());
                    code[0] = 1;
                }
            }
            done.countDown();
        }, done::countDown);
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        tunnel.dispose();
        synchronized (code) {
            return code[0];
        }
    }
}
