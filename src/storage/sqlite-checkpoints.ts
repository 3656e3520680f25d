import { Worker } from 'node:worker_threads';

/**
 * Runs the WAL checkpoints of a SQLite file on a worker thread (`sqlite-checkpoint-worker.js`),
 * and reports the WAL's size, by which the writer decides to start it over (`Writer.#restartWal`).
 * The writer keeps SQLite's automatic checkpoint only as a backstop (`BACKSTOP_PAGES` in sqlite.ts).
 */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<unknown>;

  /** `onCount` hears how many frames the WAL holds after each checkpoint. */
  constructor(path: string, onCount: (frames: number) => void, intervalMs = 100) {
    this.#worker = new Worker(new URL('./sqlite-checkpoint-worker.js', import.meta.url), {
      workerData: { path, intervalMs },
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    // A checkpoint is housekeeping: it never keeps the process alive, and its failure is not fatal.
    this.#worker.unref();
    this.#worker.on('error', () => {});
    this.#worker.on('message', (frames: unknown) => {
      if (typeof frames === 'number') onCount(frames);
    });
  }

  /** Closes the worker's connection and waits for the thread to end. */
  async stop(): Promise<void> {
    this.#worker.ref(); // or the process would exit before the thread does
    this.#worker.postMessage('close');
    await this.#exited;
  }
}
