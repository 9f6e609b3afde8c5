-- Issue 14: the DreamBooth scores of a job that asked for evaluation (JSON: dino, clip_i, clip_t, baseline {...},
-- seconds), written by the worker after training. Null for jobs without evaluation.
alter table jobs add column evaluation text;
