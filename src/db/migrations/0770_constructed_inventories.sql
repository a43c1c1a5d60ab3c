-- Constructed inventories (AWX 22+, issue #16): a `kind: constructed` inventory lists its
-- input inventories in order (AWX's InventoryConstructedInventoryMembership, ordered by
-- position: the inputs are given to ansible-inventory in this order, before the constructed
-- plugin's own file). Its hosts and groups are what its one auto-created inventory source
-- (source `constructed`) last imported (scheduler/constructed-inventory.ts).
CREATE TABLE inventory_input_inventories (
  constructed_inventory_id bigint NOT NULL REFERENCES inventories ON DELETE CASCADE,
  input_inventory_id       bigint NOT NULL REFERENCES inventories ON DELETE CASCADE,
  position                 integer NOT NULL,
  PRIMARY KEY (constructed_inventory_id, input_inventory_id),
  CHECK (constructed_inventory_id <> input_inventory_id)
);
CREATE INDEX inventory_input_inventories_input_idx ON inventory_input_inventories (input_inventory_id);

CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON inventory_input_inventories
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON inventory_input_inventories
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
