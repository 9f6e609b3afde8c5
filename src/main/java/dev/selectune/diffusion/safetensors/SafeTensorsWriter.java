package dev.selectune.diffusion.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a safetensors file: the standard layout (little-endian u64 header length, JSON header padded with spaces
 * to a multiple of 8 bytes, then the data), tensors in insertion order, with an optional {@code __metadata__}
 * map of strings. Files are written to a temporary sibling and moved into place, so a reader never sees half a
 * file.
 */
public final class SafeTensorsWriter {
    private final Map<String, NDArray> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter put(String key, NDArray array) {
        if (tensors.containsKey(key)) {
            throw new SafeTensorsException("duplicate tensor key '" + key + "'");
        }
        tensors.put(key, array);
        return this;
    }

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public byte[] toBytes() {
        JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        Map<String, byte[]> data = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            byte[] bytes = littleEndianBytes(a);
            JsonObject t = new JsonObject();
            t.addProperty("dtype", dtypeName(e.getKey(), a.getDataType()));
            JsonArray shape = new JsonArray();
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            t.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + bytes.length);
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
            data.put(e.getKey(), bytes);
            offset += bytes.length;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (byte[] b : data.values()) {
            out.put(b);
        }
        return out.array();
    }

    public void write(Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
            try (OutputStream os = Files.newOutputStream(tmp)) {
                os.write(toBytes());
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new SafeTensorsException("cannot write safetensors file " + file + ": " + e.getMessage(), e);
        }
    }

    private static byte[] littleEndianBytes(NDArray a) {
        ByteBuffer buf = a.toByteBuffer();
        byte[] bytes = new byte[buf.remaining()];
        if (buf.order() == ByteOrder.LITTLE_ENDIAN || a.getDataType().getNumOfBytes() == 1) {
            buf.get(bytes);
            return bytes;
        }
        // toByteBuffer hands out native order; safetensors is little-endian by definition.
        int width = a.getDataType().getNumOfBytes();
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            switch (width) {
                case 8 -> le.putLong(buf.getLong());
                case 4 -> le.putInt(buf.getInt());
                default -> le.putShort(buf.getShort());
            }
        }
        return bytes;
    }

    private static String dtypeName(String key, DataType type) {
        return switch (type) {
            case FLOAT32 -> "F32";
            case FLOAT16 -> "F16";
            case FLOAT64 -> "F64";
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOLEAN -> "BOOL";
            default -> throw new SafeTensorsException("tensor '" + key + "' has type " + type + ", which safetensors cannot hold here");
        };
    }
}
