-- An object's activity stream (`/<resource>/N/activity_stream/`) is the entries naming it as
-- object1 or object2: the second side gets its index too, so the OR reads two index ranges.
CREATE INDEX activity_stream_object2_idx ON activity_stream (object2, object2_id);
