package dev.selectune.diffusion.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A memory-mapped safetensors file of any size.
 *
 * <p>DJL's {@code NDList.decode} reads the whole file into one Java array and so fails past 2 GiB; here only the
 * header is read eagerly and every tensor is mapped on its own when asked for, so a 5 GB SDXL UNet loads with
 * no heap cost. The header is validated completely on open (offsets inside the file, sizes that match the
 * shapes, no overlaps past the end), so a corrupt file fails here, naming the file and key, and never inside a
 * forward.
 */
public final class SafeTensorsFile implements AutoCloseable {
    /** A header larger than this is not a safetensors header but a corrupt length field. */
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensorsFile open(Path path) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new SafeTensorsException("cannot open safetensors file " + path + ": " + e.getMessage(), e);
        }
        try {
            long size = channel.size();
            if (size < 8) {
                throw new SafeTensorsException(path + ": not a safetensors file (" + size + " bytes, no header length)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
                throw new SafeTensorsException(path + ": corrupt safetensors header length " + headerLen
                        + " (file has " + size + " bytes)");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(channel, headerBuf, 8);
            String json = new String(headerBuf.array(), StandardCharsets.UTF_8);
            long dataStart = 8 + headerLen;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(path, json, size - dataStart, metadata);
            return new SafeTensorsFile(path, channel, dataStart, tensors, metadata);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new SafeTensorsException("cannot read safetensors file " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path path, String json, long dataBytes,
                                                       Map<String, String> metadata) {
        JsonObject root;
        try {
            root = JsonParser.parseString(json).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new SafeTensorsException(path + ": corrupt safetensors header (not a JSON object): " + e.getMessage(), e);
        }
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            String key = e.getKey();
            if (key.equals("__metadata__")) {
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    metadata.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString());
                }
                continue;
            }
            try {
                JsonObject t = e.getValue().getAsJsonObject();
                String dtype = t.get("dtype").getAsString();
                var shapeArr = t.getAsJsonArray("shape");
                long[] shape = new long[shapeArr.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeArr.get(i).getAsLong();
                    if (shape[i] < 0) {
                        throw new SafeTensorsException("negative dimension");
                    }
                }
                var offsets = t.getAsJsonArray("data_offsets");
                long begin = offsets.get(0).getAsLong();
                long end = offsets.get(1).getAsLong();
                TensorInfo info = new TensorInfo(key, dtype, shape, begin, end);
                int bpe = TensorInfo.bytesPerElement(dtype);
                if (bpe < 0) {
                    throw new SafeTensorsException("unsupported dtype " + dtype);
                }
                if (begin < 0 || end < begin || end > dataBytes) {
                    throw new SafeTensorsException("data_offsets [" + begin + ", " + end + "] outside the data section of "
                            + dataBytes + " bytes");
                }
                if (info.elementCount() * bpe != end - begin) {
                    throw new SafeTensorsException("shape " + java.util.Arrays.toString(shape) + " of " + dtype + " needs "
                            + info.elementCount() * bpe + " bytes but data_offsets give " + (end - begin));
                }
                out.put(key, info);
            } catch (SafeTensorsException ex) {
                throw new SafeTensorsException(path + ": corrupt entry '" + key + "': " + ex.getMessage(), ex);
            } catch (RuntimeException ex) {
                throw new SafeTensorsException(path + ": corrupt entry '" + key + "': " + ex, ex);
            }
        }
        return out;
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    public boolean contains(String key) {
        return tensors.containsKey(key);
    }

    public TensorInfo info(String key) {
        TensorInfo info = tensors.get(key);
        if (info == null) {
            throw new SafeTensorsException(path + ": no tensor '" + key + "'");
        }
        return info;
    }

    /** Maps the raw little-endian bytes of one tensor (read-only; valid while the file is open). */
    public ByteBuffer bytes(String key) {
        TensorInfo info = info(key);
        try {
            MappedByteBuffer buf = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteLength());
            return buf.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new SafeTensorsException(path + ": cannot map tensor '" + key + "': " + e.getMessage(), e);
        }
    }

    /**
     * Loads one tensor into {@code manager} as {@code target} (FLOAT32 or FLOAT16 for floating data; integer data
     * keeps its type). The result owns its own native memory: nothing refers to the mapping afterwards. BF16, which
     * DJL cannot hold, is widened to F32 on the Java side first.
     */
    public NDArray load(String key, NDManager manager, DataType target) {
        TensorInfo info = info(key);
        Shape shape = new Shape(info.shape());
        ByteBuffer raw = bytes(key);
        DataType stored;
        ByteBuffer data;
        switch (info.dtype()) {
            case "F32" -> { stored = DataType.FLOAT32; data = raw; }
            case "F16" -> { stored = DataType.FLOAT16; data = raw; }
            case "F64" -> { stored = DataType.FLOAT64; data = raw; }
            case "BF16" -> { stored = DataType.FLOAT32; data = bf16ToF32(raw, info.elementCount()); }
            case "I64" -> { stored = DataType.INT64; data = raw; }
            case "I32" -> { stored = DataType.INT32; data = raw; }
            case "I8" -> { stored = DataType.INT8; data = raw; }
            case "U8" -> { stored = DataType.UINT8; data = raw; }
            case "BOOL" -> { stored = DataType.BOOLEAN; data = raw; }
            default -> throw new SafeTensorsException(path + ": tensor '" + key + "' has dtype " + info.dtype()
                    + ", which cannot be loaded");
        }
        DataType want = stored.isFloating() && target != null ? target : stored;
        // The blob view shares the mapped pages; copy into memory owned by the tensor, then drop the view.
        ByteBuffer direct = data.isDirect() ? data : ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.nativeOrder()).put(data).flip();
        if (shape.size() == 0) {
            return manager.create(new float[0], shape).toType(want, false);
        }
        try (NDManager tmp = manager.newSubManager()) {
            NDArray view = tmp.create(direct, shape, stored);
            // toType returns an alias when the type does not change (DJL's torchTo ignores the copy flag), which
            // would leave the weight pointing into the mapping or a direct buffer that GC later frees: clone instead.
            NDArray owned = want == stored ? view.duplicate() : view.toType(want, true);
            owned.attach(manager);
            return owned;
        } finally {
            // The view holds only the buffer's address: keep the mapping reachable (not unmapped by GC) until the
            // copy is made.
            java.lang.ref.Reference.reachabilityFence(direct);
            java.lang.ref.Reference.reachabilityFence(raw);
        }
    }

    private static ByteBuffer bf16ToF32(ByteBuffer raw, long count) {
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(count * 4)).order(ByteOrder.nativeOrder());
        for (long i = 0; i < count; i++) {
            int bits = (raw.getShort() & 0xffff) << 16;
            out.putFloat(Float.intBitsToFloat(bits));
        }
        return out.flip();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing; the original error is the one to report
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
