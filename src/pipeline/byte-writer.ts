/**
 * Builds one Buffer from many strings, encoding each as UTF-8 straight into place. The
 * receiver's COPY payloads and broadcast messages are a megabyte or more per batch: built
 * with `+=` they are ropes of thousands of pieces that V8 must flatten, then measure
 * (`Buffer.byteLength`) and encode again on the way to the socket; a CPU profile of the
 * receiver had those three passes at a quarter of its time.
 */
export class ByteWriter {
  #buf: Buffer;
  #off = 0;

  constructor(capacity = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  /** Appends `s` as UTF-8 (lone surrogates become U+FFFD, as Buffer.from does). */
  write(s: string): this {
    this.#ensure(s.length * 3);
    this.#off += this.#buf.write(s, this.#off);
    return this;
  }

  /** Appends a string known to be ASCII (digits, ISO timestamps, JSON punctuation). */
  ascii(s: string): this {
    this.#ensure(s.length);
    this.#off += this.#buf.write(s, this.#off, 'latin1');
    return this;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#off++] = v;
    return this;
  }

  u16(v: number): this {
    this.#ensure(2);
    this.#off = this.#buf.writeUInt16LE(v, this.#off);
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#off = this.#buf.writeUInt32LE(v, this.#off);
    return this;
  }

  /** Skips `n` bytes to fill in later (u32At, i32At); returns their offset. */
  reserve(n: number): number {
    this.#ensure(n);
    const at = this.#off;
    this.#off += n;
    return at;
  }

  u32At(at: number, v: number): void { this.#buf.writeUInt32LE(v, at); }

  i32At(at: number, v: number): void { this.#buf.writeInt32LE(v, at); }

  get length(): number { return this.#off; }

  /** The bytes written so far (a view: the writer must not be reused after this). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#off);
  }

  #ensure(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#off + n));
    this.#buf.copy(next, 0, 0, this.#off);
    this.#buf = next;
  }
}
