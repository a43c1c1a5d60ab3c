-- Execution and hop nodes added through the API (issue #15; AWX's instance module and
-- InstanceSerializer): the port a node listens on for its peers, and who peers with whom.
-- A node added this way is 'installed' until a Playstream process with its hostname
-- heartbeats (src/scheduler/cluster.ts makes it 'ready'); until then nothing is placed on it.
ALTER TABLE instances ADD COLUMN listener_port integer CHECK (listener_port BETWEEN 1 AND 65535);

CREATE TABLE instance_peers (
  instance_id bigint NOT NULL REFERENCES instances ON DELETE CASCADE,
  peer_id     bigint NOT NULL REFERENCES instances ON DELETE CASCADE CHECK (peer_id <> instance_id),
  PRIMARY KEY (instance_id, peer_id)
);
CREATE INDEX ON instance_peers (peer_id);

CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON instance_peers
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON instance_peers
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
