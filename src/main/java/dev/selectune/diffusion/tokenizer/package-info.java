/**
 * The CLIP BPE tokenizer of every Stable Diffusion text encoder.
 *
 * <p>{@link dev.selectune.diffusion.tokenizer.ClipTokenizer} loads a pipeline's {@code tokenizer/} folder
 * (transformers' slow {@code CLIPTokenizer} rules, added tokens included) or builds the full 49408-token vocabulary
 * from the shipped merges (OpenAI's {@code simple_tokenizer.py} rules). Text is cleaned first by
 * {@link dev.selectune.diffusion.tokenizer.ClipTextCleaner}, the part of ftfy that ordinary prompts meet.
 */
package dev.selectune.diffusion.tokenizer;
