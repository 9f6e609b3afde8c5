package dev.selectune.diffusion.nn;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * A TorchScript module loaded into libtorch through DJL, whose methods run with the calling thread's grad mode.
 *
 * <p>DJL's public {@code IValueUtils.runMethod} passes {@code isTrain = false}, and its JNI then runs the method under
 * a no-grad guard: no autograd graph. The JNI entry itself ({@code PyTorchLibrary.moduleRunMethod}, package-private)
 * runs without that guard when told {@code isTrain = true}, so it is called here directly; grad mode stays whatever
 * {@link Autograd} set on the thread.
 *
 * <p>The graph executor's optimizations (profiling, shape specialization, JIT autodiff) are switched off on each
 * calling thread (the setting is thread-local in libtorch): the methods are one or two ops, and plain execution
 * keeps autograd on the ops' own derivatives.
 */
final class TorchScriptModule {
    private static final MethodHandle RUN_METHOD;
    private static final MethodHandle NEW_IVALUE;
    private static final ThreadLocal<Boolean> PLAIN_EXECUTOR = ThreadLocal.withInitial(() -> {
        JniUtils.setGraphExecutorOptimize(false);
        return Boolean.TRUE;
    });

    static {
        Engine.getEngine("PyTorch");
        try {
            Class<?> lib = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
            Field field = lib.getDeclaredField("LIB");
            field.setAccessible(true);
            Object instance = field.get(null);
            Method run = lib.getDeclaredMethod("moduleRunMethod", long.class, String.class, long[].class,
                    boolean.class, boolean.class);
            run.setAccessible(true);
            RUN_METHOD = MethodHandles.lookup().unreflect(run).bindTo(instance);
            Constructor<IValue> ctor = IValue.class.getDeclaredConstructor(long.class);
            ctor.setAccessible(true);
            NEW_IVALUE = MethodHandles.lookup().unreflectConstructor(ctor)
                    .asType(MethodType.methodType(IValue.class, long.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("DJL's PyTorch JNI has no moduleRunMethod(long, String, long[], boolean, "
                    + "boolean) here: " + e, e);
        }
    }

    private final long handle;

    private TorchScriptModule(long handle) {
        this.handle = handle;
    }

    /** Loads an archive (see {@link TorchScriptArchive}) on the CPU; the module lives as long as the process. */
    static TorchScriptModule load(byte[] archive) {
        try {
            return new TorchScriptModule(JniUtils.loadModuleHandle(new ByteArrayInputStream(archive), Device.cpu(),
                    false, false));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code method}; the caller closes the arguments and the result. */
    IValue run(String method, IValue... args) {
        PLAIN_EXECUTOR.get();
        long[] handles = new long[args.length];
        for (int i = 0; i < args.length; i++) {
            handles[i] = args[i].getHandle();
        }
        try {
            long out = (long) RUN_METHOD.invokeExact(handle, method, handles, true, false);
            return (IValue) NEW_IVALUE.invokeExact(out);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
