package dev.selectune;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package rules of the main code: no package cycles; the library ({@code diffusion}, {@code training},
 * {@code evaluation}) knows nothing of Spring or of the service and CLI around it; the model code does not depend on
 * the trainer.
 */
class PackageDependencyTest {
    private static final String[] LIBRARY = {"dev.selectune.diffusion..", "dev.selectune.training..",
            "dev.selectune.evaluation.."};
    private static final String[] AROUND_THE_LIBRARY = {"org.springframework..", "dev.selectune.api..",
            "dev.selectune.jobs..", "dev.selectune.config..", "dev.selectune.cli..", "dev.selectune.storage..",
            "dev.selectune.metrics.."};

    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages("dev.selectune");
    }

    @Test
    void noPackageIsPartOfACycle() {
        slices().matching("dev.selectune.(**)").should().beFreeOfCycles().check(main);
    }

    @Test
    void libraryKnowsNothingOfSpringOrTheService() {
        noClasses().that().resideInAnyPackage(LIBRARY)
                .should().dependOnClassesThat().resideInAnyPackage(AROUND_THE_LIBRARY)
                .check(main);
    }

    @Test
    void modelCodeDoesNotDependOnTheTrainer() {
        noClasses().that().resideInAPackage("dev.selectune.diffusion..")
                .should().dependOnClassesThat().resideInAPackage("dev.selectune.training..")
                .check(main);
    }
}
