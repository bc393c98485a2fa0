import type { UserInfo } from './user-info';

/**
 * kube-apiserver's --token-auth-file: CSV lines `token,user,uid[,"group1,group2"]`. Blank lines
 * and lines starting with # are skipped. A malformed line fails the whole file, naming the line,
 * so an operator never runs with fewer users than they wrote down.
 */
export function parseTokenFile(text: string): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = csvFields(line, i + 1);
    const [token, name, uid, groups] = fields;
    if (fields.length < 3 || !token || !name) throw new Error(`token file line ${i + 1}: want token,user,uid[,"groups"]`);
    if (tokens.has(token)) throw new Error(`token file line ${i + 1}: the token is already used by an earlier line`);
    tokens.set(token, { name, uid: uid!, groups: groups ? groups.split(',').map((g) => g.trim()).filter((g) => g !== '') : [] });
  });
  return tokens;
}

/** One CSV line: commas separate fields, double quotes wrap a field with commas ("" is a quote). */
function csvFields(line: string, lineNo: number): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      for (i++; ; i++) {
        if (i >= line.length) throw new Error(`token file line ${lineNo}: unterminated quoted field`);
        if (line[i] === '"' && line[i + 1] === '"') field += line[i++];
        else if (line[i] === '"') break;
        else field += line[i];
      }
      i++;
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    fields.push(field.trim());
    if (i >= line.length) return fields;
    if (line[i] !== ',') throw new Error(`token file line ${lineNo}: expected a comma after a quoted field`);
    i++;
  }
}
