package dev.selectune.training;

import dev.selectune.util.Problem;
import com.google.gson.Gson;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The options of a record whose components carry {@link Hyperparameter}, read once from the record: what the
 * builder, the validation, the JSON of a job spec, the CLI and the checkpoint fingerprint all iterate, so that an
 * option is declared in one place. Generic over the record so that a test can show a new option reaching every
 * one of them without touching any.
 *
 * <p>Each option has a Java value (the component's type) and a wire value, the form JSON and the CLI carry:
 * {@code Integer}, {@code Long}, {@code Double}, {@code Boolean}, {@code String} (also for an enum: its constant
 * in lower case) or a {@code List} of strings.
 */
public final class HyperparameterSet<R extends Record> {
    private static final Gson GSON = new Gson();

    private final List<Definition> all;
    private final Map<String, Definition> byName = new LinkedHashMap<>();
    private final Constructor<R> constructor;

    private HyperparameterSet(Class<R> type) {
        RecordComponent[] components = type.getRecordComponents();
        List<Definition> defs = new ArrayList<>();
        for (RecordComponent c : components) {
            Hyperparameter h = c.getAnnotation(Hyperparameter.class);
            if (h == null) {
                throw new IllegalStateException(type.getSimpleName() + "." + c.getName() + " has no @Hyperparameter");
            }
            Definition d = new Definition(c, h);
            defs.add(d);
            byName.put(d.name(), d);
        }
        all = List.copyOf(defs);
        try {
            constructor = type.getDeclaredConstructor(Arrays.stream(components).map(RecordComponent::getType)
                    .toArray(Class<?>[]::new));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("no canonical constructor on " + type, e);
        }
    }

    public static <R extends Record> HyperparameterSet<R> of(Class<R> type) {
        return new HyperparameterSet<>(type);
    }

    /** Every option, in the record's order. */
    public List<Definition> all() {
        return all;
    }

    public Optional<Definition> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public Definition get(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException("no hyperparameter '" + name + "'"));
    }

    /** The numeric options' ranges. */
    public List<HyperparameterRange> ranges() {
        return all.stream().map(Definition::range).flatMap(Optional::stream).toList();
    }

    /** Name to default (Java values), in order; a new, modifiable map. */
    public Map<String, Object> defaults() {
        Map<String, Object> out = new LinkedHashMap<>();
        all.forEach(d -> out.put(d.name(), d.defaultValue()));
        return out;
    }

    /** Name to value (Java values) of {@code r}, in order; a new, modifiable map. */
    public Map<String, Object> values(R r) {
        Map<String, Object> out = new LinkedHashMap<>();
        all.forEach(d -> out.put(d.name(), d.get(r)));
        return out;
    }

    /** The record of these values (Java values by name); a name not given takes its default. */
    public R create(Map<String, Object> values) {
        Object[] args = new Object[all.size()];
        for (int i = 0; i < args.length; i++) {
            Definition d = all.get(i);
            args[i] = values.containsKey(d.name()) ? d.coerce(values.get(d.name())) : d.defaultValue();
        }
        for (String name : values.keySet()) {
            get(name);
        }
        try {
            return constructor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Adds "name: what is wrong" for each value outside its range or its choices. */
    public void check(R r, List<Problem> problems) {
        for (Definition d : all) {
            d.check(d.get(r), problems);
        }
    }

    /**
     * The options that shape the LoRA, by sorted name, as text (numbers as Java prints them, lists as JSON). Two
     * jobs with equal canonical forms train the same LoRA from the same state; see {@link Hyperparameter#shapesLora}.
     */
    public SortedMap<String, String> canonical(R r) {
        SortedMap<String, String> out = new TreeMap<>();
        for (Definition d : all) {
            if (d.shapesLora()) {
                out.put(d.name(), d.canonical(d.get(r)));
            }
        }
        return out;
    }

    /** One option: its definition on the record, with the default and range parsed. */
    public static final class Definition {
        private final RecordComponent component;
        private final Hyperparameter declared;
        private final String name;
        private final Object defaultValue;
        private final HyperparameterRange range;

        Definition(RecordComponent component, Hyperparameter declared) {
            this.component = component;
            this.declared = declared;
            this.name = snakeCase(component.getName());
            Class<?> type = component.getType();
            if (List.class.isAssignableFrom(type)) {
                defaultValue = List.of();
            } else if (declared.defaultValue().isEmpty()) {
                if (type.isPrimitive()) {
                    throw new IllegalStateException(name + ": a primitive option needs a default");
                }
                defaultValue = null;
            } else {
                defaultValue = fromWire(parseWire(declared.defaultValue()));
            }
            if (Double.isNaN(declared.min()) != Double.isNaN(declared.max())) {
                throw new IllegalStateException(name + ": give both min and max, or neither");
            }
            range = Double.isNaN(declared.min()) ? null : new HyperparameterRange(name, declared.min(),
                    declared.minExclusive(), declared.max(), declared.maxExclusive(), wireType() != Double.class);
        }

        /** The JSON name: the component's in snake_case ({@code tMid} is {@code t_mid}). */
        public String name() {
            return name;
        }

        public Class<?> type() {
            return component.getType();
        }

        /** The component's generic type ({@code List<String>} for a list). */
        public java.lang.reflect.Type genericType() {
            return component.getGenericType();
        }

        public String description() {
            return declared.description();
        }

        public Object defaultValue() {
            return defaultValue;
        }

        public Optional<HyperparameterRange> range() {
            return Optional.ofNullable(range);
        }

        /** The allowed values of a string or enum option; empty for any. */
        public List<String> choices() {
            if (type().isEnum()) {
                return Arrays.stream(type().getEnumConstants()).map(e -> toWire(e).toString()).toList();
            }
            return List.of(declared.choices());
        }

        /** The CLI's names: {@code --} plus the name in kebab-case unless the definition gives others. */
        public List<String> flags() {
            return declared.flags().length > 0 ? List.of(declared.flags()) : List.of("--" + name.replace('_', '-'));
        }

        public boolean required() {
            return declared.required();
        }

        public boolean shapesLora() {
            return declared.shapesLora();
        }

        public boolean isList() {
            return List.class.isAssignableFrom(type());
        }

        public boolean isBoolean() {
            return wireType() == Boolean.class;
        }

        /** The wire type: Integer, Long, Double, Boolean, String or List. */
        public Class<?> wireType() {
            Class<?> t = type();
            if (t == int.class || t == Integer.class) {
                return Integer.class;
            }
            if (t == long.class || t == Long.class) {
                return Long.class;
            }
            if (t == double.class || t == Double.class) {
                return Double.class;
            }
            if (t == boolean.class || t == Boolean.class) {
                return Boolean.class;
            }
            if (t == String.class || t.isEnum()) {
                return String.class;
            }
            if (isList()) {
                return List.class;
            }
            throw new IllegalStateException(name + ": unsupported type " + t);
        }

        public Object get(Object record) {
            try {
                return component.getAccessor().invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * The Java value of a wire value; null stays null. An enum's unknown name fails with
         * IllegalArgumentException ("unknown schedule 'x' (expected one of dtap, ...)").
         */
        public Object fromWire(Object wire) {
            if (wire == null || !type().isEnum()) {
                return coerce(wire);
            }
            for (Object constant : type().getEnumConstants()) {
                if (toWire(constant).equals(wire)) {
                    return constant;
                }
            }
            throw new IllegalArgumentException("unknown " + name + " '" + wire + "' (expected one of "
                    + String.join(", ", choices()) + ")");
        }

        /** The wire value of a Java value: an enum's lower-case name, other values as they are. */
        public Object toWire(Object value) {
            return value instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : value;
        }

        /** {@code value} as the component's type (a number widened to a double); null means the default. */
        Object coerce(Object value) {
            if (value == null) {
                return defaultValue;
            }
            if (wireType() == Double.class && value instanceof Number n) {
                return n.doubleValue();
            }
            if (wireType() == Long.class && (value instanceof Integer || value instanceof Long)) {
                return ((Number) value).longValue();
            }
            Class<?> boxed = type().isPrimitive() ? wireType() : type();
            if (!boxed.isInstance(value)) {
                throw new IllegalArgumentException(name + ": expected " + type().getSimpleName() + ", got "
                        + value.getClass().getSimpleName());
            }
            return value;
        }

        private Object parseWire(String text) {
            Class<?> w = wireType();
            if (w == Integer.class) {
                return Integer.valueOf(text);
            }
            if (w == Long.class) {
                return Long.valueOf(text);
            }
            if (w == Double.class) {
                return Double.valueOf(text);
            }
            if (w == Boolean.class) {
                if (!text.equals("true") && !text.equals("false")) {
                    throw new IllegalStateException(name + ": default '" + text + "' is not a boolean");
                }
                return Boolean.valueOf(text);
            }
            return text;
        }

        void check(Object value, List<Problem> problems) {
            if (value == null) {
                if (!choices().isEmpty()) {
                    problems.add(new Problem(name, "must be " + either(choices()) + ", got null"));
                }
                return;
            }
            if (range != null) {
                double v = ((Number) value).doubleValue();
                if (declared.multipleOf() > 1 && (!range.contains(v) || v % declared.multipleOf() != 0)) {
                    problems.add(new Problem(name, "must be a multiple of " + declared.multipleOf() + " " + range.describe()
                            + ", got " + value));
                } else {
                    range.check(problems, v);
                }
            }
            if (declared.choices().length > 0 && !choices().contains(value.toString())) {
                problems.add(new Problem(name, "must be " + either(choices()) + ", got " + value));
            }
        }

        String canonical(Object value) {
            Object wire = toWire(value);
            return wire instanceof List<?> || wire instanceof String ? GSON.toJson(wire) : String.valueOf(wire);
        }

        /** The canonical text of this option's default: what a checkpoint written before the option existed had. */
        public String canonicalDefault() {
            return canonical(defaultValue);
        }

        private static String either(List<String> choices) {
            List<String> head = choices.subList(0, choices.size() - 1);
            return head.isEmpty() ? choices.get(0) : String.join(", ", head) + " or " + choices.get(choices.size() - 1);
        }

        static String snakeCase(String camel) {
            StringBuilder sb = new StringBuilder();
            for (char c : camel.toCharArray()) {
                if (Character.isUpperCase(c)) {
                    sb.append('_').append(Character.toLowerCase(c));
                } else {
                    sb.append(c);
                }
            }
            return sb.toString();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** The set of names, for messages ("known: a, b"). */
    public List<String> names() {
        return Collections.unmodifiableList(all.stream().map(Definition::name).toList());
    }
}
