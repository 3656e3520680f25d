import { Worker } from 'node:worker_threads';

/**
 * Runs the WAL checkpoints of a SQLite file on a worker thread (`sqlite-checkpoint-worker.js`),
 * reports the WAL's size, and starts the WAL over when the writer asks (`DurableReads.restartWal`).
 * The writer keeps SQLite's automatic checkpoint only as a backstop (`BACKSTOP_PAGES` in sqlite.ts).
 */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<unknown>;

  #stopping = false;

  /**
   * `onCount` hears how many frames the WAL holds after each checkpoint (counted at `countedAt`);
   * `onFailure` that the worker is gone, so the writer must checkpoint by itself again.
   */
  constructor(
    path: string,
    onCount: (frames: number, countedAt: number) => void,
    onFailure: (error: Error) => void,
    intervalMs = 100,
  ) {
    this.#worker = new Worker(new URL('./sqlite-checkpoint-worker.js', import.meta.url), {
      workerData: { path, intervalMs },
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    // A checkpoint is housekeeping: it never keeps the process alive, and its failure is not fatal.
    this.#worker.unref();
    this.#worker.on('error', (error) => onFailure(error));
    this.#worker.on('exit', (code) => {
      for (const resolve of this.#restarting.splice(0)) resolve(false);
      if (!this.#stopping) onFailure(new Error(`the checkpoint worker exited (${code})`));
    });
    this.#worker.on('message', (message: { frames: number; countedAt: number } | { restarted: boolean }) => {
      if ('restarted' in message) this.#restarting.shift()?.(message.restarted);
      else onCount(message.frames, message.countedAt);
    });
  }

  readonly #restarting: Array<(restarted: boolean) => void> = [];

  /** Checkpoints on the worker now: true if the whole WAL was copied back (see the worker's `restart`). */
  restart(): Promise<boolean> {
    if (this.#stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#restarting.push(resolve);
      this.#worker.postMessage('restart');
    });
  }

  /** Closes the worker's connection and waits for the thread to end. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#worker.ref(); // or the process would exit before the thread does
    this.#worker.postMessage('close');
    await this.#exited;
  }
}
