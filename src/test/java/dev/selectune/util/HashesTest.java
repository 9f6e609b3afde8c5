package dev.selectune.util;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class HashesTest {
    /** FIPS 180-2's test vector: the digests stored before this class existed stay the same. */
    @Test
    void sha256OfAbcIsTheStandardVector() {
        String abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assertThat(Hashes.sha256Hex("abc")).isEqualTo(abc);
        assertThat(Hashes.sha256Hex("abc".getBytes(StandardCharsets.UTF_8))).isEqualTo(abc);
        assertThat(Hashes.sha256("abc")).hasSize(32).startsWith((byte) 0xba, (byte) 0x78);
    }
}
