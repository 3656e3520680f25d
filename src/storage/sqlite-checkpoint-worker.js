// Checkpoints one SQLite database's WAL on a worker thread: copying WAL pages back into the
// database file and fsyncing both would otherwise run inside a COMMIT on the event loop (SQLite's
// automatic checkpoint), a sixth of the server's time under steady writes. Reports the WAL's size
// after each checkpoint, and starts the WAL over when asked. Plain JavaScript: a worker thread
// does not inherit tsx's loader, which the in-process test suites run under. The build
// (scripts/build.js) puts it in dist/ beside the bundle, where sqlite-checkpoints.ts looks for it.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(workerData.path);
// PASSIVE never waits on readers or writers; busy means "try again next time".
db.pragma('busy_timeout = 0');

const timer = setInterval(() => {
  try {
    const countedAt = Date.now();
    const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ frames: log, countedAt });
  } catch {
    // SQLITE_BUSY (another checkpoint runs) or an I/O error: the next tick tries again, and the
    // writer's own automatic checkpoint remains as a backstop.
  }
}, workerData.intervalMs);

// Starting the WAL over, when the writer asks: it has no transaction open and commits nothing
// until this answers, so every reader is on the latest snapshot and a PASSIVE checkpoint can copy
// the whole WAL back without waiting on anyone. SQLite then starts the WAL over at the writer's
// next commit (if no reader is still on a snapshot from before: the writer ends its own first).
function restart() {
  try {
    const [{ busy, log, checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)');
    return busy === 0 && log === checkpointed;
  } catch {
    return false;
  }
}

parentPort.on('message', (message) => {
  if (message === 'restart') {
    parentPort.postMessage({ restarted: restart() });
    return;
  }
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
