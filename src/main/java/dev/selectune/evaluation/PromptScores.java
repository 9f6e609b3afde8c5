package dev.selectune.evaluation;

/** The scores of the images generated from one prompt. */
public record PromptScores(String prompt, Scores scores) {
}
