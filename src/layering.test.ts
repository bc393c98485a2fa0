import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * DESIGN.md §2: which layer may import which. A layer may always import itself; `generated` and
 * `wire` are the wire types and their loader, open to every layer that speaks the protocol.
 */
const ALLOWED: Record<string, string[]> = {
  util: [],
  raft: ['util'],
  storage: ['util'],
  mvcc: ['storage', 'util'],
  lease: ['util'],
  transport: ['raft', 'util', 'generated', 'wire'],
  server: ['raft', 'storage', 'mvcc', 'lease', 'transport', 'util', 'generated'],
  api: ['server', 'mvcc', 'lease', 'storage', 'util', 'generated', 'wire', 'client'],
  client: ['util', 'generated', 'wire'],
  ctl: ['client', 'util', 'generated', 'wire'],
  controlplane: ['client', 'util', 'generated', 'wire'],
  wire: ['util', 'generated'],
};

/** Inside raft these would bring in IO, time or randomness; the core must stay a pure state machine. */
const RAFT_FORBIDDEN = [/from ['"]node:/, /Date\.now/, /new Date/, /Math\.random/, /setTimeout/, /setInterval/, /process\./];

const SRC = join(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function layerOf(path: string): string {
  return relative(SRC, path).split(sep)[0]!;
}

describe('layering (DESIGN.md §2)', () => {
  // Files directly under src/ (this test) belong to no layer.
  const files = sourceFiles(SRC).filter((f) => relative(SRC, f).includes(sep));
  it('finds the source tree', () => assert.ok(files.length > 20, `only ${files.length} files under ${SRC}`));

  for (const file of files) {
    const layer = layerOf(file);
    if (layer === 'cmd') continue; // the composition root may import everything
    it(`${relative(SRC, file)} imports only what ${layer}/ may`, () => {
      const allowed = ALLOWED[layer];
      assert.ok(allowed !== undefined, `${layer}/ is not a layer of DESIGN.md`);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from ['"](\.[^'"]+)['"]/g)) {
        const target = layerOf(join(file, '..', m[1]!));
        assert.ok(target === layer || allowed.includes(target), `${layer}/ imports ${target}/ ("${m[1]}")`);
      }
      if (layer === 'raft') for (const re of RAFT_FORBIDDEN) assert.doesNotMatch(text, re);
    });
  }
});
