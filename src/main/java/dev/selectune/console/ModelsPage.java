package dev.selectune.console;

import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

/** What the service offers: the base models (as GET /v1/models describes them) and the evaluators. */
@Controller
public class ModelsPage {
    private final ModelRegistry models;
    private final EvaluatorRegistry evaluators;

    public ModelsPage(ModelRegistry models, EvaluatorRegistry evaluators) {
        this.models = models;
        this.evaluators = evaluators;
    }

    @GetMapping("/models")
    public String models(Model model) {
        model.addAttribute("models", models.all());
        model.addAttribute("evaluators", evaluators.all());
        return "console/models";
    }
}
