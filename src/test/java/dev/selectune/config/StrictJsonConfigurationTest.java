package dev.selectune.config;

import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each scalar type is read from its own JSON shape only (an integer is a number too), and a field only once. */
class StrictJsonConfigurationTest {
    record Fields(Integer i, Double d, Boolean b, String s, List<String> list) {
    }

    private final JsonMapper json = StrictJsonConfiguration.refuseCoercions(JsonMapper.builder()).build();

    @Test
    void eachTypeReadsItsOwnShape() {
        Fields f = json.readValue("{\"i\": 5, \"d\": 1, \"b\": true, \"s\": \"\", \"list\": [\"a\"]}", Fields.class);
        assertThat(f).isEqualTo(new Fields(5, 1.0, true, "", List.of("a")));
        assertThat(json.readValue("{\"d\": 2.5}", Fields.class).d()).isEqualTo(2.5);
    }

    @Test
    void everyOtherShapeIsRefused() {
        for (String body : List.of("{\"i\": 5.5}", "{\"i\": \"5\"}", "{\"i\": \"\"}", "{\"i\": true}", "{\"i\": [5]}",
                "{\"d\": \"1.5\"}", "{\"d\": \"\"}", "{\"d\": false}", "{\"d\": [1.5]}",
                "{\"b\": 1}", "{\"b\": 1.0}", "{\"b\": \"true\"}", "{\"b\": \"\"}", "{\"b\": [true]}",
                "{\"s\": 123}", "{\"s\": 1.5}", "{\"s\": true}", "{\"s\": [\"a\"]}", "{\"list\": [[\"a\"]]}",
                "{\"i\": 1, \"i\": 2}")) {
            assertThatThrownBy(() -> json.readValue(body, Fields.class)).as(body).isInstanceOf(JacksonException.class);
        }
    }
}
