package dev.selectune.cli;

import dev.selectune.util.Problem;
import dev.selectune.training.HyperparameterSet;
import dev.selectune.training.TrainingConfig;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Gives a command one option per hyperparameter of {@link TrainingConfig#HYPERPARAMETERS}: the flag, help text,
 * default shown and type come from that one definition, so the CLI cannot miss an option. Named as the command's
 * {@code modelTransformer}; the command collects the values given (as wire values, by JSON name) in
 * {@link Target#hyperparameters()}. An enum option's name is checked while parsing, in any case.
 */
public final class HyperparameterOptions implements CommandLine.IModelTransformer {

    /** A command with these options. */
    public interface Target {
        /** The map the options write into: JSON name to the value given. */
        Map<String, Object> hyperparameters();
    }

    @Override
    public CommandSpec transform(CommandSpec spec) {
        Map<String, Object> given = ((Target) spec.userObject()).hyperparameters();
        for (HyperparameterSet.Definition d : TrainingConfig.HYPERPARAMETERS.all()) {
            spec.addOption(option(d, given));
        }
        return spec;
    }

    /** A problem of the training config as the command line says it: its option's flag instead of its JSON name. */
    static String onCommandLine(Problem p) {
        if (p.field() == null) {
            return p.toString();
        }
        int bracket = p.field().indexOf('[');
        String name = bracket < 0 ? p.field() : p.field().substring(0, bracket);
        return TrainingConfig.HYPERPARAMETERS.find(name)
                .map(d -> d.flags().get(0) + p.field().substring(name.length()) + ": " + p.message())
                .orElse(p.toString());
    }

    static OptionSpec option(HyperparameterSet.Definition d, Map<String, Object> given) {
        List<String> flags = d.flags();
        OptionSpec.Builder b = OptionSpec.builder(flags.toArray(String[]::new))
                .description(help(d))
                .paramLabel("<" + d.name() + ">")
                .required(d.required())
                .setter(new CommandLine.Model.ISetter() {
                    @Override
                    @SuppressWarnings("unchecked")
                    public <T> T set(T value) {
                        return (T) given.put(d.name(), value);
                    }
                })
                .getter(new CommandLine.Model.IGetter() {
                    @Override
                    @SuppressWarnings("unchecked")
                    public <T> T get() {
                        return (T) given.get(d.name());
                    }
                });
        if (d.isBoolean()) {
            b.type(Boolean.class).arity("0");
        } else if (d.isList()) {
            b.type(List.class).auxiliaryTypes(String.class);
        } else if (d.type().isEnum()) {
            b.type(String.class).converters(text -> {
                String wire = text.toLowerCase(Locale.ROOT);
                try {
                    d.fromWire(wire);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.TypeConversionException(e.getMessage());
                }
                return wire;
            });
        } else {
            b.type(d.wireType());
        }
        return b.build();
    }

    private static String help(HyperparameterSet.Definition d) {
        String help = d.description();
        if (d.type().isEnum()) {
            help += ": " + String.join(", ", d.choices());
        }
        Object dflt = d.toWire(d.defaultValue());
        if (dflt != null && !d.isList() && !d.isBoolean()) {
            help += " (default: " + dflt + ")";
        }
        return help;
    }
}
