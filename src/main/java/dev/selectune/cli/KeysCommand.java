package dev.selectune.cli;

import dev.selectune.SelectuneApplication;
import dev.selectune.config.ApiKeys;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/**
 * Tenants' API keys, against the same database the service uses (same properties and environment: an external
 * {@code SPRING_DATASOURCE_URL}, or the embedded one in {@code SELECTUNE_DATA_DIR}; the embedded database can only be
 * opened while the service is stopped).
 */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys.",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
public final class KeysCommand {

    @Option(names = "--spring", description = "extra Spring property, e.g. --spring=selectune.data-dir=/data",
            paramLabel = "KEY=VALUE")
    String[] springProps = new String[0];

    /** A Spring context without web server or workers: just the database and the key store. */
    ConfigurableApplicationContext context() {
        String[] args = new String[springProps.length + 3];
        for (int i = 0; i < springProps.length; i++) {
            args[i] = "--" + springProps[i];
        }
        args[springProps.length] = "--selectune.workers.enabled=false";
        args[springProps.length + 1] = "--logging.level.root=WARN";
        args[springProps.length + 2] = "--selectune.api-keys=";
        return new SpringApplicationBuilder(SelectuneApplication.class).web(WebApplicationType.NONE)
                .logStartupInfo(false).run(args);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a key; it is printed once.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        KeysCommand parent;
        @Option(names = "--tenant", required = true, description = "the tenant the key acts for")
        String tenant;

        @Override
        public Integer call() {
            try (var ctx = parent.context()) {
                ApiKeys.Created c = ctx.getBean(ApiKeys.class).create(tenant);
                System.out.println("id:     " + c.id());
                System.out.println("tenant: " + c.tenant());
                System.out.println("key:    " + c.key());
                System.out.println("(the key is shown only now; only its SHA-256 is stored)");
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List keys (never the secrets).")
    static final class ListKeys implements Callable<Integer> {
        @ParentCommand
        KeysCommand parent;

        @Override
        public Integer call() {
            try (var ctx = parent.context()) {
                System.out.printf("%-18s %-20s %-12s %-26s %s%n", "ID", "TENANT", "PREFIX", "CREATED", "REVOKED");
                for (ApiKeys.KeyInfo k : ctx.getBean(ApiKeys.class).list()) {
                    System.out.printf("%-18s %-20s %-12s %-26s %s%n", k.id(), k.tenant(), k.prefix() + "…",
                            k.createdAt(), k.revokedAt() == null ? "-" : k.revokedAt());
                }
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key by its id.")
    static final class Revoke implements Callable<Integer> {
        @ParentCommand
        KeysCommand parent;
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            try (var ctx = parent.context()) {
                boolean done = ctx.getBean(ApiKeys.class).revoke(id);
                System.out.println(done ? "revoked " + id : "no active key " + id);
                return done ? 0 : 1;
            }
        }
    }
}
