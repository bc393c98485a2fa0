import type { Rows } from './printer-rows';

/**
 * The layout of olekukonko/tablewriter as etcdctl configures it: headers upper-cased and centred,
 * cells right-aligned, one space of padding, `+---+` borders. Cells are short (IDs, URLs, numbers),
 * so tablewriter's wrapping of cells longer than 30 characters at spaces is not reproduced.
 */
export function renderTable({ header, rows }: Rows): string {
  const titles = header.map((h) => h.replace(/[_.]/g, ' ').trim().toUpperCase());
  const widths = titles.map((t, i) => Math.max(width(t), ...rows.map((r) => width(r[i] ?? ''))));
  const border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const line = (cells: string[], pad: (s: string, w: number) => string) =>
    `|${cells.map((c, i) => ` ${pad(c, widths[i]!)} `).join('|')}|\n`;
  let out = border + line(titles, centre) + border;
  for (const r of rows) out += line(r, (s, w) => ' '.repeat(w - width(s)) + s);
  return out + border; // tablewriter closes the table even when it has no rows
}

/** tablewriter's Pad: the extra space split with the smaller half on the left. */
function centre(s: string, w: number): string {
  const gap = w - width(s);
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}

function width(s: string): number {
  return [...s].length;
}
