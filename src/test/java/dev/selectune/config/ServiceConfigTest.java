package dev.selectune.config;

import ai.djl.Device;
import dev.selectune.jobs.Devices;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code selectune.models} and {@code selectune.devices} parsing, and errors that name the setting and entry. */
class ServiceConfigTest {

    @Test
    void readsModelFoldersAndNamesTheBadEntry() {
        var models = ModelRegistry.parse(" tiny=src/test/resources/golden/tiny-sd15 , v=src/test/resources/golden/tiny-sd21v");
        assertThat(models.keySet()).containsExactly("tiny", "v");
        assertThat(models.get("tiny").info().family()).isEqualTo("sd15");
        assertThat(models.get("v").info().predictionType()).isEqualTo("v_prediction");
        assertThat(ModelRegistry.parse("")).isEmpty();
        assertThatThrownBy(() -> ModelRegistry.parse("just-a-path")).hasMessageContaining("selectune.models")
                .hasMessageContaining("name=folder");
        assertThatThrownBy(() -> ModelRegistry.parse("x=/nowhere/model")).hasMessageContaining("model 'x'")
                .hasMessageContaining("model_index.json");
    }

    @Test
    void parsesDeviceLists() {
        assertThat(Devices.parse("cpu")).containsExactly(Device.cpu());
        assertThat(Devices.parse("gpu0, gpu1")).containsExactly(Device.gpu(0), Device.gpu(1));
        assertThat(Devices.parse("auto")).isNotEmpty();
        assertThat(Devices.label(Device.gpu(1))).isEqualTo("gpu1");
        assertThatThrownBy(() -> Devices.parse("tpu0")).hasMessageContaining("selectune.devices")
                .hasMessageContaining("tpu0");
        assertThat(List.of(Devices.label(Device.cpu()))).containsExactly("cpu");
    }
}
