package io.migtunnel.testing;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The jqwik counterpart of {@link LeakDetection}: jqwik's {@code @Property} methods run on the jqwik
 * engine, which ignores Jupiter extensions. Registered globally through
 * {@code META-INF/services/net.jqwik.api.lifecycle.LifecycleHook}; checks once per property (not per
 * try, which would cost a GC each try). Kept separate from {@link LeakDetection} so that modules
 * without jqwik can still load that class.
 */
public final class JqwikLeakDetection implements AroundPropertyHook {
    static {
        LeakDetection.install(); // jqwik may run before the Jupiter engine loads LeakDetection
    }

    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        try {
            LeakDetection.check(); // leaks from before this property
        } catch (AssertionError e) {
            return property.execute().mapToFailed(new AssertionError("before property: " + e.getMessage()));
        }
        PropertyExecutionResult result = property.execute();
        try {
            LeakDetection.check();
        } catch (AssertionError e) {
            return result.status() == PropertyExecutionResult.Status.FAILED ? result : result.mapToFailed(e);
        }
        return result;
    }
}
