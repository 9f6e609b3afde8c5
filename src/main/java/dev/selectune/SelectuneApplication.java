package dev.selectune;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/** The REST service: {@code java -jar selectune.jar} (or {@code serve}) starts it through the CLI. */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class SelectuneApplication {
    public static void main(String[] args) {
        SpringApplication.run(SelectuneApplication.class, args);
    }
}
