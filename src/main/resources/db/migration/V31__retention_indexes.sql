-- The retention sweeper (RetentionSweeper) picks the oldest finished generations and the oldest finished webhook
-- deliveries by finished_at, once an hour, from tables that grow by thousands of rows a day.
create index generations_finished on generations (finished_at)
    where status in ('succeeded', 'failed', 'cancelled');
create index webhook_deliveries_finished on webhook_deliveries (finished_at) where status <> 'pending';
