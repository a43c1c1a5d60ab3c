-- The dispatcher's durable task queue. A *direct* task names the node that must run it
-- (`node`); workers of that node claim it with FOR UPDATE SKIP LOCKED, so two claimers
-- never take the same row and neither waits on the other. NOTIFY playstream_dispatch_<node>
-- is the wake-up hint; each dispatcher also polls. Fanout tasks are not stored: they are a
-- pg_notify on playstream_fanout that every node LISTENs to (AWX's broadcast semantics).
CREATE TABLE dispatcher_tasks (
  id      bigserial PRIMARY KEY,
  uuid    uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  node    text NOT NULL,
  name    text NOT NULL,
  args    jsonb NOT NULL DEFAULT '{}',
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispatcher_tasks_node_idx ON dispatcher_tasks (node, id);

-- The task manager reads pending jobs oldest first on every pass.
CREATE INDEX unified_jobs_pending_idx ON unified_jobs (id) WHERE status = 'pending';
CREATE INDEX unified_job_dependencies_dep_idx ON unified_job_dependencies (depends_on_id);
