-- Lease fencing (issue 9, item 4). Every claim increments lease_generation; every write a worker makes to a job
-- (progress, metrics rows, events, checkpoint, artifacts, final status) first locks the job row and is refused
-- unless the row is still running under that worker id and generation. A worker that stalled past its lease (and
-- was reaped, even if the same worker id claimed the job again) therefore changes nothing.
alter table jobs add column lease_generation bigint not null default 0;
-- The checkpoint in force. Each save writes a new blob key (jobs/<id>/checkpoints/g<generation>-<n>) and moves this
-- pointer under the lease, in one transaction; a late writer's blob is never pointed to, so never resumed from.
alter table jobs add column checkpoint_key text;
-- Checkpoints written before this migration sit under the old fixed key.
update jobs set checkpoint_key = 'jobs/' || id || '/checkpoint' where checkpoint_step is not null;
-- Item 16: the step a job taken over by a new claim went on from (its checkpoint step, 0 without one). At that claim
-- `step` is set back to it and the metrics rows after it are deleted, since those steps run again; null for a job
-- that never resumed.
alter table jobs add column resumed_from_step int;
