// k6 websocket load test: WS_CLIENTS virtual users each hold one AWX websocket subscribed
// to one job's events (and job status changes) for WS_SECONDS, counting events and
// `delivered - created` lag. Events must stream meanwhile (launch a job, or push with
// `npm run loadtest:ws`'s producer). The same scenario runs without k6 as
// `npm run loadtest:ws` (the Node driver in bench/ws, which also produces the events).
//
//   k6 run -e BASE=ws://127.0.0.1:8013 -e USER=admin -e PASSWORD=... -e JOB=42 \
//          -e WS_CLIENTS=200 -e WS_SECONDS=60 loadtest/ws.k6.js
import ws from 'k6/ws';
import encoding from 'k6/encoding';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const events = new Counter('ws_events_received');
const statusChanges = new Counter('ws_status_changes_received');
const overCapacity = new Counter('ws_over_capacity_notices');
const lag = new Trend('ws_delivered_minus_created_ms', true);

const clients = Number(__ENV.WS_CLIENTS || 200);
const seconds = Number(__ENV.WS_SECONDS || 60);

export const options = {
  scenarios: { watchers: { executor: 'per-vu-iterations', vus: clients, iterations: 1, maxDuration: `${seconds + 30}s` } },
  thresholds: { ws_delivered_minus_created_ms: ['p(99)<150'] },
};

export default function () {
  const base = __ENV.BASE || 'ws://127.0.0.1:8013';
  const auth = encoding.b64encode(`${__ENV.USER || 'admin'}:${__ENV.PASSWORD}`);
  const res = ws.connect(`${base}/websocket/`, { headers: { Authorization: `Basic ${auth}` } }, (socket) => {
    socket.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.accept) {
        socket.send(JSON.stringify({ groups: { job_events: [Number(__ENV.JOB)], jobs: ['status_changed'] } }));
      } else if (m.group_name === 'job_events') {
        events.add(1);
        const created = m.created.endsWith('Z') ? m.created : `${m.created}Z`;
        lag.add(Date.now() - Date.parse(created));
      } else if (m.group_name === 'jobs') {
        statusChanges.add(1);
      } else if (m.group_name === 'control' && m.type === 'over_capacity') {
        overCapacity.add(1);
      }
    });
    socket.setTimeout(() => socket.close(), seconds * 1000);
  });
  check(res, { 'upgraded (101)': (r) => r && r.status === 101 });
}
