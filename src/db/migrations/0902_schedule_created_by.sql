-- Who made a schedule (issue #15; AWX's created_by on every object): AWX's ScheduleAccess
-- lets a user who may execute the template change and delete the schedules they created,
-- where changing anyone else's needs admin of the template. Older schedules have none and
-- stay with the template's admins.
ALTER TABLE schedules ADD COLUMN created_by_id bigint REFERENCES users ON DELETE SET NULL;
