package io.migtunnel.testing;

import io.netty.util.concurrent.AbstractScheduledEventExecutor;
import io.netty.util.concurrent.DefaultPromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * An event loop that is the thread which created it, with a clock that moves only when told:
 * {@link #execute} queues, {@link #runPending()} runs the queue, {@link #advance} moves the clock
 * and runs what became due. For deterministic single-thread tests and fuzz targets (same input,
 * same run), like Netty's {@code EmbeddedEventLoop} but without a channel.
 */
public final class ManualEventExecutor extends AbstractScheduledEventExecutor {
    private final Thread owner = Thread.currentThread();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private final Promise<Void> terminated = new DefaultPromise<>(GlobalEventExecutor.INSTANCE);
    private long now;

    @Override
    protected long getCurrentTimeNanos() {
        return now;
    }

    /** The loop's clock, in nanoseconds: moved only by {@link #advance}. */
    public long now() {
        return now;
    }

    /** Runs queued tasks, and the tasks they queue, until none is left. */
    public void runPending() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            task.run();
        }
    }

    /** Moves the clock by {@code by}, running each scheduled task that became due and what it queues. */
    public void advance(Duration by) {
        runPending();
        now += by.toNanos();
        Runnable due;
        while ((due = pollScheduledTask(now)) != null) { // in deadline order; periodic tasks come back
            due.run();
            runPending();
        }
    }

    /** Whether a scheduled task is still waiting, due or not (cancelled ones are removed). */
    public boolean hasWaitingScheduledTasks() {
        return nextScheduledTaskNano() != -1;
    }

    @Override
    public boolean inEventLoop(Thread thread) {
        return thread == owner;
    }

    @Override
    public void execute(Runnable task) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("ManualEventExecutor is confined to " + owner.getName());
        }
        tasks.add(task);
    }

    @Override
    public boolean isShuttingDown() {
        return terminated.isDone();
    }

    @Override
    public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
        shutdown();
        return terminated;
    }

    @Override
    public Future<?> terminationFuture() {
        return terminated;
    }

    @Override
    @Deprecated
    public void shutdown() {
        cancelScheduledTasks();
        tasks.clear();
        terminated.trySuccess(null);
    }

    @Override
    public boolean isShutdown() {
        return terminated.isDone();
    }

    @Override
    public boolean isTerminated() {
        return terminated.isDone();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return terminated.isDone();
    }
}
