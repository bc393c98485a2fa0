/** The part of hpack.js (which ships no types) that authority-repair.ts uses. */
declare module 'hpack.js' {
  export interface HeaderField {
    name: string;
    value: string;
  }
  export interface Decompressor {
    write(block: Buffer): void;
    /** Decodes what was written; a malformed block is reported as an 'error' event. */
    execute(): void;
    on(event: 'error', listener: (err: Error) => void): this;
    /** The next decoded header field, or null when none is left. */
    read(): HeaderField | null;
  }
  export const decompressor: { create(options: { table: { size: number } }): Decompressor };
}
