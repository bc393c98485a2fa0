import { join } from 'node:path';

/** The repository's proto/ directory, found from the compiled file's place under dist/src/util. */
export const PROTO_DIR = join(__dirname, '..', '..', '..', 'proto');
