package dev.selectune.config;

import org.springframework.boot.jackson.autoconfigure.JsonMapperBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.deser.std.StdScalarDeserializer;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.cfg.MapperBuilder;
import tools.jackson.databind.type.LogicalType;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * JSON values must have the types openapi.yaml gives them: Jackson would otherwise read {@code "5"} and {@code 5.5}
 * as the integer 5, {@code 123} as the string "123" and {@code 1} as true, silently. The service's mapper reads
 * only request bodies and what the service itself wrote, so it can be strict everywhere. An integer for a number
 * ({@code 1} for 1.0) stays accepted: JSON has one number type. A field given twice is refused too, rather than
 * the last one silently winning.
 */
@Configuration(proxyBeanMethods = false)
public class StrictJsonConfiguration {
    /** The JSON shapes Jackson would coerce into a scalar: a one-element array ({@code [5]} for 5) and the scalars. */
    private static final Set<CoercionInputShape> COERCIBLE = EnumSet.of(CoercionInputShape.Array,
            CoercionInputShape.Integer, CoercionInputShape.Float, CoercionInputShape.String,
            CoercionInputShape.EmptyString, CoercionInputShape.Boolean);

    /** The shapes each scalar type is read from; every other coercible shape fails, naming the field. */
    private static final Map<LogicalType, Set<CoercionInputShape>> ACCEPTED = Map.of(
            LogicalType.Integer, EnumSet.of(CoercionInputShape.Integer),
            LogicalType.Float, EnumSet.of(CoercionInputShape.Float, CoercionInputShape.Integer),
            LogicalType.Boolean, EnumSet.of(CoercionInputShape.Boolean),
            LogicalType.Textual, EnumSet.of(CoercionInputShape.String, CoercionInputShape.EmptyString));

    @Bean
    JsonMapperBuilderCustomizer strictScalars() {
        return StrictJsonConfiguration::refuseCoercions;
    }

    public static <B extends MapperBuilder<?, ?>> B refuseCoercions(B builder) {
        builder.enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
        builder.addModule(new SimpleModule("strict-strings").addDeserializer(String.class, new StrictStrings()));
        ACCEPTED.forEach((type, accepted) -> builder.withCoercionConfig(type, c -> {
            for (CoercionInputShape shape : COERCIBLE) {
                if (!accepted.contains(shape)) {
                    c.setCoercion(shape, CoercionAction.Fail);
                }
            }
        }));
        return builder;
    }

    /**
     * Only a JSON string is a string. (The coercion configs alone let {@code [["a"]]} through as a list of strings:
     * Jackson unwraps the inner array and then fails on a trailing token, naming no field.)
     */
    static final class StrictStrings extends StdScalarDeserializer<String> {
        StrictStrings() {
            super(String.class);
        }

        @Override
        public String deserialize(JsonParser p, DeserializationContext ctxt) {
            if (p.hasToken(JsonToken.VALUE_STRING)) {
                return p.getString();
            }
            return (String) ctxt.reportInputMismatch(this, "expected a string, got %s", p.currentToken());
        }
    }
}
