import { runWeb } from './api/web-main.js';
import { loadConfig } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { PlaystreamError } from './errors.js';
import { answerHealthPings } from './health.js';
import { log, setProcessName } from './log.js';
import { version } from './paths.js';
import { runReceiver } from './pipeline/receiver-main.js';
import { runDispatcher } from './scheduler/dispatcher-main.js';
import { binaries, ensureBinaries, type SystemBinary } from './services/system-packages.js';
import { runSupervisor } from './supervisor.js';

const USAGE = `usage: playstream <command>

  start         run web, receiver and dispatcher (and embedded Postgres/Redis when
                DATABASE_URL/REDIS_URL are unset); Ctrl-C stops everything
  web           run only the API/websocket/console server
  receiver      run only the callback receiver
  dispatcher    run only the task manager and worker pool;
                --status | --running | --reload | --cancel <uuid> talk to this node's
  deprovision NAME
                remove the instance NAME from the cluster: its queued jobs are placed
                elsewhere, its running jobs reaped (stop the node first)
  migrate       apply database migrations to DATABASE_URL
  install-deps  install missing system packages (apt-get, as root on Debian);
                --tests adds what the test suite needs (chromium, slapd, the awx.awx
                collection, pytz and dateutil)
  version       print the version
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // The three roles `start` supervises answer its health pings (a one-off command or a
  // dispatcher worker, with its own IPC protocol, does not).
  if ((command === 'web' || command === 'receiver' || command === 'dispatcher') && rest.length === 0) answerHealthPings();
  switch (command) {
    case 'start': return runSupervisor();
    case 'web': return runWeb();
    case 'receiver': return rest.includes('--status') ? (await import('./pipeline/receiver-status.js')).printReceiverStatus() : runReceiver();
    case 'dispatcher': return runDispatcher(rest);
    case 'deprovision': return (await import('./scheduler/deprovision-main.js')).runDeprovision(rest);
    case 'migrate': {
      setProcessName('migrate');
      const config = loadConfig();
      if (!config.databaseUrl) throw new PlaystreamError('PS_ERR_CONFIG', 'migrate needs DATABASE_URL');
      const pool = createPool(config.databaseUrl, { max: 1, name: 'migrate' });
      const applied = await migrate(pool);
      await pool.end();
      process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'schema is current\n');
      return;
    }
    case 'install-deps': {
      setProcessName('install-deps');
      const { chromium, slapd, awxCollection, pytz, dateutil, ...server } = binaries;
      const wanted: Record<string, SystemBinary> = rest.includes('--tests') ? { ...server, chromium, slapd, awxCollection, pytz, dateutil } : server;
      const found = ensureBinaries(wanted, { autoInstall: true });
      for (const [k, v] of Object.entries(found)) process.stdout.write(`${k.padEnd(16)} ${v}\n`);
      return;
    }
    case 'version':
    case '--version':
      process.stdout.write(`${version}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof PlaystreamError) {
    log.error(err.message, { code: err.code });
  } else {
    log.error('fatal', { err: (err as Error).stack ?? err });
  }
  process.exit(1);
});
