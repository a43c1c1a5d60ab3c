import { defineResource } from '../engine/resource.js';
import { ro } from './common.js';

/** The activity stream, read-only; superusers and system auditors read it. */
export const activityStream = defineResource({
  key: 'activity_stream', type: 'activity_stream', table: 'activity_stream',
  fields: {
    id: { type: 'int' }, timestamp: ro('time'), operation: ro('text'), object1: ro('text'), object2: ro('text'),
    object_association: ro('text', { col: 't.object_relationship_type' }), changes: ro('json'), action_node: ro('text'),
    actor: ro('int', { fk: 'users' }), object1_id: ro('int'), object2_id: ro('int'),
  },
  search: ['object1', 'operation'], readOnly: true, noDelete: true, defaultOrder: '-timestamp',
  access: { roleType: 'activity_stream', superOnly: true, orgExpr: null },
});
