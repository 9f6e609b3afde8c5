package dev.selectune.jobs;

import dev.selectune.training.HyperparameterSet;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingOverrides;
import dev.selectune.webhooks.WebhookRequest;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.deser.std.StdDeserializer;
import tools.jackson.databind.ser.std.StdSerializer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link JobSpec}'s JSON: one flat object of its own fields and every hyperparameter of
 * {@link TrainingConfig#HYPERPARAMETERS} under its JSON name, read with the type the definition gives (so the
 * mapper's strict scalars apply, and an error names the field as for any bean property) and written in the
 * definition's order. Written by hand because the hyperparameters are not fields of JobSpec: they are read from
 * their one definition.
 */
final class JobSpecJson {
    private static final String BASE_MODEL = "base_model";
    private static final String IMAGE_SET_ID = "image_set_id";
    private static final String METADATA = "metadata";
    private static final String EVALUATION = "evaluation";
    private static final String WEBHOOK = WebhookRequest.URL_FIELD;
    private static final String WEBHOOK_EVENTS_FILTER = WebhookRequest.FILTER_FIELD;
    private static final List<String> OWN = List.of(BASE_MODEL, IMAGE_SET_ID, METADATA, EVALUATION, WEBHOOK,
            WEBHOOK_EVENTS_FILTER);
    private static final HyperparameterSet<TrainingConfig> HYPERPARAMETERS = TrainingConfig.HYPERPARAMETERS;

    private JobSpecJson() {
    }

    static final class Reader extends StdDeserializer<JobSpec> {
        Reader() {
            super(JobSpec.class);
        }

        @Override
        public JobSpec deserialize(JsonParser p, DeserializationContext ctxt) {
            if (!p.isExpectedStartObjectToken()) {
                return (JobSpec) ctxt.handleUnexpectedToken(JobSpec.class, p);
            }
            String baseModel = null;
            String imageSetId = null;
            Map<String, String> metadata = null;
            EvaluationSpec evaluation = null;
            String webhook = null;
            List<String> webhookEvents = null;
            Map<String, Object> hyperparameters = new LinkedHashMap<>();
            for (String name = p.nextName(); name != null; name = p.nextName()) {
                p.nextToken();
                var definition = HYPERPARAMETERS.find(name);
                if (definition.isEmpty() && !OWN.contains(name)) {
                    ctxt.handleUnknownProperty(p, this, JobSpec.class, name);
                    continue;
                }
                try {
                    switch (name) {
                        case BASE_MODEL -> baseModel = read(p, ctxt, ctxt.constructType(String.class));
                        case IMAGE_SET_ID -> imageSetId = read(p, ctxt, ctxt.constructType(String.class));
                        case METADATA -> metadata = read(p, ctxt, ctxt.getTypeFactory()
                                .constructMapType(LinkedHashMap.class, String.class, String.class));
                        case EVALUATION -> evaluation = read(p, ctxt, ctxt.constructType(EvaluationSpec.class));
                        case WEBHOOK -> webhook = read(p, ctxt, ctxt.constructType(String.class));
                        case WEBHOOK_EVENTS_FILTER -> webhookEvents = read(p, ctxt, ctxt.getTypeFactory()
                                .constructCollectionType(List.class, String.class));
                        default -> hyperparameters.put(name, read(p, ctxt, wireType(ctxt, definition.get())));
                    }
                } catch (JacksonException e) {
                    // As for a bean property: the path names the field ("validation_prompts[1]").
                    throw e.prependPath(JobSpec.class, name);
                }
            }
            return new JobSpec(baseModel, imageSetId, new TrainingOverrides(hyperparameters), metadata, evaluation,
                    webhook == null && webhookEvents == null ? null : new WebhookRequest(webhook, webhookEvents));
        }

        private static <T> T read(JsonParser p, DeserializationContext ctxt, JavaType type) {
            return p.hasToken(JsonToken.VALUE_NULL) ? null : ctxt.readValue(p, type);
        }

        private static JavaType wireType(DeserializationContext ctxt, HyperparameterSet.Definition d) {
            return d.isList() ? ctxt.getTypeFactory().constructType(d.genericType()) : ctxt.constructType(d.wireType());
        }

        @Override
        public Collection<Object> getKnownPropertyNames() {
            List<Object> names = new ArrayList<>(OWN);
            names.addAll(HYPERPARAMETERS.names());
            return names;
        }
    }

    static final class Writer extends StdSerializer<JobSpec> {
        Writer() {
            super(JobSpec.class);
        }

        @Override
        public void serialize(JobSpec spec, JsonGenerator gen, SerializationContext ctxt) {
            gen.writeStartObject(spec);
            write(gen, ctxt, BASE_MODEL, spec.baseModel());
            write(gen, ctxt, IMAGE_SET_ID, spec.imageSetId());
            Map<String, Object> given = spec.hyperparameters().values();
            for (HyperparameterSet.Definition d : HYPERPARAMETERS.all()) {
                write(gen, ctxt, d.name(), given.get(d.name()));
            }
            write(gen, ctxt, METADATA, spec.metadata());
            write(gen, ctxt, EVALUATION, spec.evaluation());
            if (spec.webhook() != null) {
                write(gen, ctxt, WEBHOOK, spec.webhook().url());
                write(gen, ctxt, WEBHOOK_EVENTS_FILTER, spec.webhook().eventsFilter());
            }
            gen.writeEndObject();
        }

        private static void write(JsonGenerator gen, SerializationContext ctxt, String name, Object value) {
            if (value != null) {
                gen.writeName(name);
                ctxt.writeValue(gen, value);
            }
        }
    }
}
