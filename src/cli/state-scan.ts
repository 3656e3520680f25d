/**
 * Follows a state document's bytes as they stream past (`ftshare export`), without parsing it
 * whole: counts the records of each top-level array, for the progress line and the summary, and
 * says at the end whether the document was complete (one top-level object, closed) — a backup cut
 * short by a dropped connection must fail, not be kept.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export class StateScanner {
  /** Records per top-level array, e.g. `permissions` → 1000000. */
  readonly counts = new Map<string, number>();
  total = 0;
  bytes = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** The top-level key being read (keys are short ASCII), and the last one read. */
  #key: number[] | null = null;
  #lastKey = '';
  /** The top-level array being read, if any. */
  #array: string | null = null;
  #closed = false;
  #broken = false;
  /** The first bytes, to check the document names itself. */
  #head = '';

  feed(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.#head.length < 64) this.#head += Buffer.from(chunk.subarray(0, 64)).toString('latin1');
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) {
          this.#inString = false;
          if (this.#key) this.#lastKey = String.fromCharCode(...this.#key);
          this.#key = null;
        } else if (this.#key && this.#key.length < 64) this.#key.push(byte);
        continue;
      }
      if (this.#closed && byte > 0x20) this.#broken = true;
      if (byte === QUOTE) {
        this.#inString = true;
        if (this.#depth === 1) this.#key = [];
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        if (this.#depth === 0 && byte !== OPEN_OBJECT) this.#broken = true;
        if (this.#depth === 1 && byte === OPEN_ARRAY) this.#array = this.#lastKey;
        if (this.#depth === 2 && this.#array !== null) {
          this.counts.set(this.#array, (this.counts.get(this.#array) ?? 0) + 1);
          this.total++;
        }
        this.#depth++;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        this.#depth--;
        if (this.#depth === 1) this.#array = null;
        if (this.#depth === 0) this.#closed = true;
        if (this.#depth < 0) this.#broken = true;
      }
    }
  }

  /** One top-level object, opening with `"ftshare_state":1`, closed, nothing after it. */
  get complete(): boolean {
    return this.#closed && !this.#broken && /^\s*\{\s*"ftshare_state"\s*:\s*1\s*[,}]/.test(this.#head);
  }
}
