package dev.selectune.webhooks;

import org.junit.jupiter.api.Test;

import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SignaturesTest {
    /**
     * The Standard Webhooks reference vector: github.com/standard-webhooks/standard-webhooks,
     * libraries/java/src/test/java/com/standardwebhooks/WebhookTest.java, {@code verifyWebhookSignWorks} (commit
     * 14ae328070656be4fc19c75998cabda8eddbbe29); the other libraries of that repository test the same values.
     */
    @Test
    void signsTheSpecificationsTestVector() {
        assertThat(Signatures.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330, "{\"test\": 2432232314}"))
                .isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    @Test
    void aRotationSignsWithBothKeysSpaceSeparated() {
        String current = Signatures.newSecret();
        String previous = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        String header = Signatures.header(List.of(current, previous), "msg_1", 1614265330, "{}");
        assertThat(header.split(" ")).containsExactly(Signatures.sign(current, "msg_1", 1614265330, "{}"),
                Signatures.sign(previous, "msg_1", 1614265330, "{}"));
    }

    @Test
    void verifiesTheTestVectorAndRefusesTamperingOtherKeysAndOldTimestamps() {
        String secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        String id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        String body = "{\"test\": 2432232314}";
        String header = "v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assertThat(Signatures.verify(secret, id, "1614265330", body, header, 1614265330, 300)).isTrue();
        assertThat(Signatures.verify(secret, id, "1614265330", body + " ", header, 1614265330, 300)).isFalse();
        assertThat(Signatures.verify(Signatures.newSecret(), id, "1614265330", body, header, 1614265330, 300))
                .isFalse();
        assertThat(Signatures.verify(secret, id, "1614265330", body, header, 1614265330 + 301, 300))
                .as("a replay after the tolerance").isFalse();
        assertThat(Signatures.verify(secret, id, "soon", body, header, 1614265330, 300)).isFalse();
        assertThat(Signatures.verify(secret, null, "1614265330", body, header, 1614265330, 300)).isFalse();
    }

    @Test
    void newSecretsAreWhsecAnd32RandomBytes() {
        String a = Signatures.newSecret();
        assertThat(a).startsWith("whsec_");
        assertThat(Base64.getDecoder().decode(a.substring(6))).hasSize(32);
        assertThat(Signatures.newSecret()).isNotEqualTo(a);
    }
}
