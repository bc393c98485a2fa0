import { setFlagsFromString } from 'node:v8';

/**
 * Imported first by the `keel` binary, before any code it would apply to is loaded: V8 optimises a
 * function once it has run this many bytes of bytecode (default 67,584), and a member's request
 * path is hundreds of small functions called a few times per request. With the default a member
 * took 8-10 s of single-client puts to settle (p50 2.7 → 1.4 ms); with 4,000 it is within 0.15 ms
 * of its settled latency after 2 s. A leader change or restart starts the warm-up again, so this
 * is client latency, not only a benchmark's. A budget given on Node's command line or in
 * NODE_OPTIONS is kept.
 */
const INTERRUPT_BUDGET_BYTES = 4000;

const given = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((a) => a.startsWith('--interrupt-budget'));
if (!given) setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET_BYTES}`);
